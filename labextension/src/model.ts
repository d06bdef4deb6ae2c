/**
 * The sidebar's live state: a Poll on the change feed (paused while the panel is hidden),
 * a signal views listen to, and the runs selected for comparison.
 */
import { Message, MessageLoop } from '@lumino/messaging';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';
import { useEffect } from 'react';
import { api, IChange } from './api';

export class MLOpsModel {
  constructor(interval = 1000) {
    this._poll = new Poll({
      auto: true,
      factory: () => this._tick(),
      frequency: { interval, backoff: true, max: 30 * 1000 },
      name: 'jupyter-mlops:changes',
      standby: () => (this.visible ? 'when-hidden' : true)
    });
  }

  /** Whether the sidebar or one of its views is showing (polling stops otherwise). */
  get visible(): boolean {
    return this._showing.size > 0;
  }

  /** Note whether `owner` (the sidebar, a view) is showing; see pollWhileShowing. */
  setShowing(owner: object, showing: boolean): void {
    if (showing) {
      this._showing.add(owner);
    } else {
      this._showing.delete(owner);
    }
  }

  /** Changes since the last look: each view reloads what concerns it. */
  get changed(): ISignal<this, IChange[]> {
    return this._changed;
  }

  get selectionChanged(): ISignal<this, string[]> {
    return this._selectionChanged;
  }

  get filterChanged(): ISignal<this, string> {
    return this._filterChanged;
  }

  /** The runs table's filter (commands set it: "show runs of this notebook"). */
  get runFilter(): string {
    return this._filter;
  }

  set runFilter(text: string) {
    this._filter = text;
    this._filterChanged.emit(text);
  }

  get selectedRuns(): string[] {
    return this._selected;
  }

  set selectedRuns(ids: string[]) {
    this._selected = ids;
    this._selectionChanged.emit(ids);
  }

  /** Ask every view to reload now, and look for changes at once. */
  refresh(): void {
    this._changed.emit([]);
    void this._poll.refresh();
  }

  set interval(ms: number) {
    this._poll.frequency = { ...this._poll.frequency, interval: ms };
  }

  dispose(): void {
    this._poll.dispose();
    Signal.clearData(this);
  }

  private async _tick(): Promise<void> {
    if (this._cursor === null) {
      this._cursor = (await api.changes(0)).latest; // start from now, not from history
      return;
    }
    const feed = await api.changes(this._cursor);
    this._cursor = feed.cursor;
    const fresh = feed.changes.filter(c => !this._seen.has(c.seq));
    for (const c of fresh) {
      this._seen.add(c.seq);
    }
    if (this._seen.size > 5000) {
      this._seen = new Set(fresh.map(c => c.seq));
    }
    if (fresh.length) {
      this._changed.emit(fresh);
    }
  }

  private _poll: Poll;
  private _showing = new Set<object>();
  private _cursor: number | null = null;
  private _seen = new Set<number>();
  private _selected: string[] = [];
  private _filter = '';
  private _filterChanged = new Signal<this, string>(this);
  private _changed = new Signal<this, IChange[]>(this);
  private _selectionChanged = new Signal<this, string[]>(this);
}

/**
 * Keep the change feed polled while `widget` (the sidebar, a view in the main area) shows:
 * a model view open beside a closed sidebar still updates live.
 */
export function pollWhileShowing(model: MLOpsModel, widget: Widget): void {
  MessageLoop.installMessageHook(widget, (_, msg: Message) => {
    // hooks run before the widget handles the message: after-attach shows it as Lumino will
    if (msg.type === 'after-show') {
      model.setShowing(widget, true);
    } else if (msg.type === 'before-hide' || msg.type === 'before-detach') {
      model.setShowing(widget, false);
    } else if (msg.type === 'after-attach') {
      model.setShowing(widget, !widget.isHidden && (!widget.parent || widget.parent.isVisible));
    }
    return true;
  });
}

/** A React hook: call `reload` when a change passes `concerns` (or on refresh). */

export function useChanges(
  model: MLOpsModel,
  concerns: (change: IChange) => boolean,
  reload: () => void
): void {
  useEffect(() => {
    let timer: number | null = null;
    const listener = (_: MLOpsModel, changes: IChange[]) => {
      if (changes.length && !changes.some(concerns)) {
        return;
      }
      if (timer === null) {
        timer = window.setTimeout(() => {
          timer = null;
          reload();
        }, 100);
      }
    };
    model.changed.connect(listener);
    return () => {
      model.changed.disconnect(listener);
      if (timer !== null) {
        window.clearTimeout(timer);
      }
    };
  }, [model, concerns, reload]);
}
