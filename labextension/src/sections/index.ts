/**
 * The sidebar's sections, one module per capability; a capability that has not landed has no
 * module, so its section is simply absent. Adding one is a line here.
 */
import { datasetsSection } from './datasets/DatasetsSection';
import { driftSection } from './drift/DriftSection';
import { featuresSection } from './features/FeaturesSection';
import { modelsSection } from './models/ModelsSection';
import { pipelinesSection } from './pipelines/PipelinesSection';
import type { ISection } from './registry';
import { runsSection } from './runs/RunsSection';

export const SECTIONS: ISection[] = [
  runsSection,
  datasetsSection,
  featuresSection,
  modelsSection,
  driftSection,
  pipelinesSection
].sort(
  (a, b) => a.rank - b.rank
);
