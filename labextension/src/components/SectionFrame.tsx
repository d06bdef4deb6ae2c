/**
 * One section of the sidebar: a header line "Runs · 10,017 · 2 running" (the summary cut
 * with an ellipsis when narrow, whole in its title), and the body when it is the one open.
 */
import React from 'react';
import type { ISectionProps } from '../sections/registry';

export function SectionFrame(props: {
  id: string;
  title: string;
  /** The counts after the title, e.g. ["10,017", "2 running"] (empty parts are left out). */
  summary: (string | null | false | undefined)[];
  section: ISectionProps;
  children: React.ReactNode;
}): JSX.Element {
  const { open, onToggle } = props.section;
  const parts = props.summary.filter((p): p is string => !!p);
  const line = [props.title, ...parts].join(' · ');
  const key = (event: React.KeyboardEvent) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onToggle();
    }
  };
  return (
    <div className={`jp-mlops-section jp-mlops-section-${props.id}${open ? ' jp-mod-open' : ''}`}>
      <div
        className="jp-mlops-section-title"
        role="button"
        tabIndex={0}
        aria-expanded={open}
        onClick={onToggle}
        onKeyDown={key}
      >
        <span className="jp-mlops-caret" aria-hidden="true">
          {open ? '▾' : '▸'}
        </span>
        <span className="jp-mlops-section-line" title={line}>
          <span className="jp-mlops-section-name">{props.title}</span>
          {parts.map(part => (
            <span key={part} className="jp-mlops-section-count">
              {' · '}
              {part}
            </span>
          ))}
        </span>
      </div>
      {open && <div className="jp-mlops-section-body">{props.children}</div>}
    </div>
  );
}
