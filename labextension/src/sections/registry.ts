/** What a sidebar section is: sections/index.ts lists them, ordered by rank. */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { MLOpsModel } from '../model';
import type { Views } from '../views';

export interface ISectionProps {
  app: JupyterFrontEnd;
  model: MLOpsModel;
  views: Views;
  /** Whether this section is the one expanded (the sidebar shows one at a time). */
  open: boolean;
  /** Expand this section, or collapse it when it is the one open. */
  onToggle: () => void;
}

/** A section renders its own frame (components/SectionFrame): a one-line summary with counts
 * always, its body only when open; it loads its data either way, for the summary. */
export interface ISection {
  id: string;
  title: string;
  rank: number;
  component: (props: ISectionProps) => JSX.Element;
}
