/** What a sidebar section is: sections/index.ts lists them, ordered by rank. */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { MLOpsModel } from '../model';
import type { Views } from '../views';

export interface ISectionProps {
  app: JupyterFrontEnd;
  model: MLOpsModel;
  views: Views;
}

export interface ISection {
  id: string;
  title: string;
  rank: number;
  component: (props: ISectionProps) => JSX.Element;
}
