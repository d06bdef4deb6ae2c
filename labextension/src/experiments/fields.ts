/**
 * Field names of the runs table, the filter language and the charts: `name`, `status`, …
 * (attributes), `params.<key>`, `metrics.<key>`, `tags.<key>`; a key that is not a plain
 * dotted name is backtick-quoted, as the filter language reads it.
 */
import type { IRunFields } from './client';

export type Group = 'attributes' | 'params' | 'metrics' | 'tags';
export const GROUPS: Group[] = ['attributes', 'params', 'metrics', 'tags'];

/** Every row carries these; `duration` is computed from start and end in the browser. */
export const BASE_FIELDS = new Set([
  'run_id',
  'name',
  'experiment',
  'status',
  'start_time',
  'end_time',
  'parent_run_id',
  'user',
  'duration'
]);

/** The columns shown before the user picks any, then those the server chose. */
export const DEFAULT_ATTRIBUTES = ['name', 'status', 'start_time', 'duration'];

const PLAIN = /^[A-Za-z_0-9][\w-]*(\.[A-Za-z_0-9][\w-]*)*$/;

/** The field's text in the filter language (and in `columns=`, `order_by=`, `fields=`). */
export function fieldName(group: Group, key: string): string {
  if (group === 'attributes') {
    return key;
  }
  return `${group}.${PLAIN.test(key) ? key : '`' + key.replace(/`/g, '') + '`'}`;
}

/** The group and key of a field name (its inverse). */
export function splitField(field: string): { group: Group; key: string } {
  const match = /^(params|metrics|tags)\.(.*)$/.exec(field);
  if (!match) {
    return { group: 'attributes', key: field };
  }
  const key = match[2];
  return {
    group: match[1] as Group,
    key: key.startsWith('`') && key.endsWith('`') ? key.slice(1, -1) : key
  };
}

/** Every field the runs of the shown experiments have, grouped, as field names. */
export function allFields(fields: IRunFields | null): string[] {
  if (!fields) {
    return [];
  }
  return GROUPS.flatMap(group => (fields[group] ?? []).map(key => fieldName(group, key)));
}

/** The columns to ask the server for (the rows carry the base fields anyway). */
export function serverColumns(columns: string[]): string[] {
  return columns.filter(c => !BASE_FIELDS.has(c));
}

/** A column's width in pixels, by what it holds. */
export function columnWidth(field: string): number {
  if (field === 'name') {
    return 200;
  }
  if (field === 'start_time' || field === 'end_time') {
    return 110;
  }
  if (field === 'status') {
    return 86;
  }
  const group = splitField(field).group;
  return group === 'tags' ? 130 : group === 'attributes' ? 110 : 96;
}

/** The word being typed at `caret` in a filter (a field name in the making). */
export function wordAt(text: string, caret: number): { start: number; word: string } {
  let start = caret;
  while (start > 0 && /[\w.`-]/.test(text[start - 1])) {
    start -= 1;
  }
  return { start, word: text.slice(start, caret) };
}

/** Field names completing `word`: those starting with it first, then those containing it. */
export function completions(fields: string[], word: string, max = 12): string[] {
  if (!word) {
    return [];
  }
  const lower = word.toLowerCase();
  const starts = fields.filter(f => f.toLowerCase().startsWith(lower) && f !== word);
  const within = fields.filter(
    f => !f.toLowerCase().startsWith(lower) && f.toLowerCase().includes(lower)
  );
  return [...starts, ...within].slice(0, max);
}
