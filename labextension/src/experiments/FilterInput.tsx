/**
 * The filter box: the expression language of search_runs, with field names completed as
 * they are typed (Down/Up choose, Tab or Enter takes one, Escape closes the list). Enter
 * without a list open applies the filter.
 */
import React, { useLayoutEffect, useRef, useState } from 'react';
import { completions, wordAt } from './fields';

export function FilterInput(props: {
  value: string;
  fields: string[];
  onChange: (text: string) => void;
  onApply: (text: string) => void;
}): JSX.Element {
  const input = useRef<HTMLInputElement>(null);
  const [caret, setCaret] = useState(0);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const placed = useRef<number | null>(null);
  const { start, word } = wordAt(props.value, caret);
  const options = open ? completions(props.fields, word) : [];

  // after a completion, the caret goes right after the field taken (before the next key)
  useLayoutEffect(() => {
    if (placed.current !== null) {
      input.current?.setSelectionRange(placed.current, placed.current);
      setCaret(placed.current);
      placed.current = null;
    }
  }, [props.value]);

  const take = (field: string) => {
    placed.current = start + field.length;
    props.onChange(props.value.slice(0, start) + field + props.value.slice(caret));
    setOpen(false);
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLInputElement>) => {
    if (options.length) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((active + step + options.length) % options.length);
        return;
      }
      if (e.key === 'Tab' || e.key === 'Enter') {
        e.preventDefault();
        take(options[Math.min(active, options.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setOpen(false);
        return;
      }
    }
    if (e.key === 'Enter') {
      e.preventDefault();
      setOpen(false);
      props.onApply(props.value.trim());
    }
  };

  return (
    <div className="jp-mlops-exp-filter">
      <input
        ref={input}
        className="jp-mod-styled jp-mlops-exp-filter-input"
        placeholder="filter: metrics.accuracy > 0.9 and params.model = 'rf'"
        title="the filter language of search_runs; Enter applies it, field names complete as you type"
        aria-label="filter runs"
        aria-autocomplete="list"
        aria-expanded={options.length > 0}
        spellCheck={false}
        value={props.value}
        onChange={e => {
          props.onChange(e.target.value);
          setCaret(e.target.selectionStart ?? e.target.value.length);
          setOpen(true);
          setActive(0);
        }}
        onKeyDown={onKeyDown}
        onKeyUp={e => setCaret(e.currentTarget.selectionStart ?? 0)}
        onClick={e => setCaret(e.currentTarget.selectionStart ?? 0)}
        onBlur={() => setOpen(false)}
      />
      {options.length > 0 && (
        <ul className="jp-mlops-exp-completions" role="listbox" aria-label="field names">
          {options.map((field, i) => (
            <li
              key={field}
              role="option"
              aria-selected={i === active}
              className={i === active ? 'jp-mod-active' : ''}
              onMouseDown={e => {
                e.preventDefault();
                take(field);
              }}
            >
              {field}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
