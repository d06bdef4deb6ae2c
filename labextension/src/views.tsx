/**
 * Views opened in the main area: a run, a comparison, a dataset, a feature view, a model, a
 * pipeline, a model's drift. One tab per subject; opening it again brings the tab forward.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import React from 'react';
import { mlopsIcon } from './icon';
import { MLOpsModel, pollWhileShowing } from './model';
import { CompareView } from './sections/runs/CompareView';
import { RunView } from './sections/runs/RunView';
import { DatasetView } from './sections/datasets/DatasetView';
import { FeatureView } from './sections/features/FeatureView';
import { ModelView } from './sections/models/ModelView';
import { PipelineView } from './sections/pipelines/PipelineView';
import { DriftView } from './sections/drift/DriftView';

export class Views {
  constructor(
    private app: JupyterFrontEnd,
    private model: MLOpsModel
  ) {}

  openRun(id: string): void {
    this._open(`jp-mlops-run-${id}`, `Run ${id.slice(0, 8)}`, () => (
      <RunView id={id} model={this.model} views={this} />
    ));
  }

  /** Compare runs; two runs can open on their Code tab. */
  compareRuns(ids: string[], tab: 'summary' | 'code' = 'summary'): void {
    if (ids.length < 2) {
      return;
    }
    const key = [...ids].sort().join('-').slice(0, 64);
    this._open(`jp-mlops-compare-${key}`, `Compare ${ids.length} runs`, () => (
      <CompareView ids={ids} model={this.model} views={this} tab={tab} />
    ));
  }

  openDataset(name: string): void {
    this._open(`jp-mlops-dataset-${name}`, `Dataset ${name}`, () => (
      <DatasetView name={name} model={this.model} />
    ));
  }

  openFeatureView(name: string): void {
    this._open(`jp-mlops-feature-${name}`, `Features ${name}`, () => <FeatureView name={name} model={this.model} />);
  }

  openModel(name: string): void {
    this._open(`jp-mlops-model-${name}`, `Model ${name}`, () => (
      <ModelView name={name} model={this.model} views={this} />
    ));
  }

  openPipeline(name: string): void {
    this._open(`jp-mlops-pipeline-${name}`, `Pipeline ${name}`, () => (
      <PipelineView name={name} model={this.model} views={this} />
    ));
  }

  openDrift(name: string): void {
    this._open(`jp-mlops-drift-${name}`, `Drift ${name}`, () => (
      <DriftView name={name} model={this.model} views={this} />
    ));
  }

  private _open(id: string, label: string, render: () => JSX.Element): void {
    const safeId = id.replace(/[^\w-]/g, '_');
    const existing = this._widgets.get(safeId);
    if (existing && !existing.isDisposed) {
      this.app.shell.activateById(safeId);
      return;
    }
    const content = ReactWidget.create(render());
    content.addClass('jp-mlops-view');
    const widget = new MainAreaWidget({ content });
    widget.id = safeId;
    widget.title.label = label;
    widget.title.icon = mlopsIcon;
    widget.title.closable = true;
    pollWhileShowing(this.model, widget);
    this._widgets.set(safeId, widget);
    this.app.shell.add(widget, 'main');
    this.app.shell.activateById(safeId);
  }

  private _widgets = new Map<string, MainAreaWidget>();
}
