/**
 * Choosers of the Experiments view: which experiments, which columns (every param, metric,
 * tag and attribute the runs have, or any field typed), and a single field (a select with one
 * group per kind of field).
 */
import React, { useEffect, useRef, useState } from 'react';
import { relative } from '../components/common';
import type { IExperiment, IRunFields } from './client';
import { fieldName, Group, GROUPS } from './fields';

/** A button opening a panel under it; a click outside or Escape closes it. */
export function Popover(props: {
  label: string;
  className: string;
  title?: string;
  children: (close: () => void) => JSX.Element;
}): JSX.Element {
  const [open, setOpen] = useState(false);
  const node = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) {
      return;
    }
    const outside = (e: MouseEvent) => {
      if (node.current && !node.current.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', outside, true);
    return () => document.removeEventListener('mousedown', outside, true);
  }, [open]);
  return (
    <div
      className={`jp-mlops-exp-popover ${props.className}`}
      ref={node}
      onKeyDown={e => {
        if (e.key === 'Escape' && open) {
          e.stopPropagation();
          setOpen(false);
        }
      }}
    >
      <button
        type="button"
        className="jp-mod-styled jp-mlops-button"
        aria-expanded={open}
        title={props.title ?? props.label}
        onClick={() => setOpen(!open)}
      >
        {props.label} ▾
      </button>
      {open && (
        <div className="jp-mlops-exp-panel" role="dialog" aria-label={props.title ?? props.label}>
          {props.children(() => setOpen(false))}
        </div>
      )}
    </div>
  );
}

const GROUP_TITLES: Record<Group, string> = {
  attributes: 'Run',
  params: 'Params',
  metrics: 'Metrics',
  tags: 'Tags'
};

/** Fields as checkboxes in their groups, narrowed by a search box. */
export function FieldChecklist(props: {
  fields: IRunFields | null;
  chosen: string[];
  onChange: (fields: string[]) => void;
  groups?: Group[];
  extra?: boolean;
}): JSX.Element {
  const [search, setSearch] = useState('');
  const [typed, setTyped] = useState('');
  const needle = search.trim().toLowerCase();
  const known = new Set<string>();
  const toggle = (field: string) =>
    props.onChange(
      props.chosen.includes(field)
        ? props.chosen.filter(f => f !== field)
        : [...props.chosen, field]
    );
  const sections = (props.groups ?? GROUPS).map(group => {
    const names = (props.fields?.[group] ?? []).map(key => fieldName(group, key));
    names.forEach(n => known.add(n));
    const shown = names.filter(n => !needle || n.toLowerCase().includes(needle));
    if (!shown.length) {
      return null;
    }
    return (
      <fieldset key={group} className="jp-mlops-exp-group-list">
        <legend>{GROUP_TITLES[group]}</legend>
        {shown.map(name => (
          <label key={name} title={name}>
            <input
              type="checkbox"
              checked={props.chosen.includes(name)}
              onChange={() => toggle(name)}
            />
            {group === 'attributes' ? name : name.slice(group.length + 1)}
          </label>
        ))}
      </fieldset>
    );
  });
  const unknown = props.chosen.filter(f => !known.has(f));
  return (
    <div className="jp-mlops-exp-checklist">
      <input
        className="jp-mod-styled jp-mlops-exp-search"
        placeholder="search fields"
        aria-label="search fields"
        value={search}
        autoFocus
        onChange={e => setSearch(e.target.value)}
      />
      {unknown.length > 0 && (
        <fieldset className="jp-mlops-exp-group-list">
          <legend>Not seen in these runs</legend>
          {unknown.map(name => (
            <label key={name} title={name}>
              <input type="checkbox" checked onChange={() => toggle(name)} />
              {name}
            </label>
          ))}
        </fieldset>
      )}
      <div className="jp-mlops-exp-groups">{sections}</div>
      {props.extra && (
        <form
          className="jp-mlops-exp-add"
          onSubmit={e => {
            e.preventDefault();
            const field = typed.trim();
            if (field && !props.chosen.includes(field)) {
              props.onChange([...props.chosen, field]);
            }
            setTyped('');
          }}
        >
          <input
            className="jp-mod-styled"
            placeholder="any field: params.depth"
            aria-label="add a column by name"
            value={typed}
            onChange={e => setTyped(e.target.value)}
          />
          <button type="submit" className="jp-mod-styled jp-mlops-button">
            Add
          </button>
        </form>
      )}
    </div>
  );
}

/** One field from a select grouped by kind ("—" for none when `optional`). */
export function FieldSelect(props: {
  label: string;
  fields: IRunFields | null;
  value: string | null;
  groups?: Group[];
  optional?: boolean;
  onChange: (field: string | null) => void;
}): JSX.Element {
  const groups = props.groups ?? GROUPS;
  const names = groups.flatMap(g => (props.fields?.[g] ?? []).map(k => fieldName(g, k)));
  const value = props.value ?? '';
  return (
    <label className="jp-mlops-exp-select">
      {props.label}{' '}
      <select
        className="jp-mod-styled"
        aria-label={props.label}
        value={value}
        onChange={e => props.onChange(e.target.value || null)}
      >
        {(props.optional || !value) && <option value="">—</option>}
        {value && !names.includes(value) && <option value={value}>{value}</option>}
        {groups.map(g =>
          (props.fields?.[g] ?? []).length ? (
            <optgroup key={g} label={GROUP_TITLES[g]}>
              {(props.fields?.[g] ?? []).map(k => (
                <option key={k} value={fieldName(g, k)}>
                  {fieldName(g, k)}
                </option>
              ))}
            </optgroup>
          ) : null
        )}
      </select>
    </label>
  );
}

/** The experiments shown: any of them, or all (none ticked). */
export function ExperimentPicker(props: {
  experiments: IExperiment[];
  chosen: string[];
  onChange: (names: string[]) => void;
}): JSX.Element {
  const { chosen } = props;
  const label = !chosen.length
    ? 'All experiments'
    : chosen.length <= 2
      ? chosen.join(', ')
      : `${chosen.slice(0, 2).join(', ')} +${chosen.length - 2}`;
  const toggle = (name: string) =>
    props.onChange(chosen.includes(name) ? chosen.filter(c => c !== name) : [...chosen, name]);
  return (
    <Popover label={label} className="jp-mlops-exp-experiments" title="experiments shown">
      {() => (
        <div className="jp-mlops-exp-checklist">
          <label>
            <input type="checkbox" checked={!chosen.length} onChange={() => props.onChange([])} />
            All experiments
          </label>
          {!props.experiments.length && <div className="jp-mlops-muted">loading the experiments…</div>}
          {chosen
            .filter(name => !props.experiments.some(e => e.name === name))
            .map(name => (
              <label key={name} title={`${name} no longer exists`}>
                <input type="checkbox" checked onChange={() => toggle(name)} />
                <span className="jp-mlops-exp-ename">{name}</span>
                <span className="jp-mlops-muted">gone</span>
              </label>
            ))}
          {props.experiments.map(e => (
            <label key={e.name} title={e.description ?? e.name}>
              <input
                type="checkbox"
                checked={chosen.includes(e.name)}
                onChange={() => toggle(e.name)}
              />
              <span className="jp-mlops-exp-ename">{e.name}</span>
              <span className="jp-mlops-muted">
                {e.runs.toLocaleString()} run{e.runs === 1 ? '' : 's'}
                {e.last_run ? `, last ${relative(e.last_run)}` : ''}
              </span>
            </label>
          ))}
        </div>
      )}
    </Popover>
  );
}
