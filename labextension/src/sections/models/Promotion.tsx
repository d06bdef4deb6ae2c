/**
 * Moving a model's aliases, as the store allows the user: on a solo store Promote behind a
 * gate; on a team store a protected alias moves only by a request a maintainer approves, so
 * the form asks for one ("Request promotion") where Promote would be refused, and open
 * requests show their gate's values with Approve / Reject for maintainers. A viewer sees no
 * write action. Every answer (a gate that did not hold, a refusal) is shown in place.
 */
import React, { useState } from 'react';
import { api, IAliasPolicy, IMe, IPromotionRequestRow, MLOpsError } from '../../api';
import { ErrorBox, format, When } from '../../components/common';

type Answer = { ok: boolean; text: string } | null;

function failure(err: unknown): Answer {
  const refused = err instanceof MLOpsError && (err.status === 409 || err.status === 403);
  return { ok: false, text: (refused ? 'Refused: ' : '') + (err as Error).message };
}

/** A gate's values, as "metrics.f1 = 0.91, production.metrics.f1 = 0.88". */
export function GateValues(props: { values: Record<string, unknown> | null | undefined }): JSX.Element | null {
  const entries = Object.entries(props.values ?? {});
  if (!entries.length) {
    return null;
  }
  return (
    <span className="jp-mlops-gate-values">
      {entries.map(([k, v]) => (
        <code key={k}>
          {k} = {format(v)}
        </code>
      ))}
    </span>
  );
}

export function MoveAlias(props: {
  name: string;
  versions: number[];
  me: IMe | null;
  policies: IAliasPolicy[];
  onDone: () => void;
}): JSX.Element | null {
  const { me, policies } = props;
  const [version, setVersion] = useState<number>(props.versions[props.versions.length - 1] ?? 1);
  const [alias, setAlias] = useState('production');
  const [require, setRequire] = useState('');
  const [comment, setComment] = useState('');
  const [answer, setAnswer] = useState<Answer>(null);
  const team = !!me?.team;
  const policy = policies.find(p => p.alias === alias);
  const protectedAlias = team && (policy ? policy.protected : alias === 'production');
  const mayPromote = !me || me.may.promote;
  const mayRequest = !!me?.may.request;
  if (team && !mayPromote && !mayRequest) {
    return null; // a viewer: no write action
  }
  const asks = protectedAlias; // the alias moves only by an approved request
  const disabled = asks ? !mayRequest : !mayPromote;
  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    try {
      if (asks) {
        const made = await api.requestPromotion(props.name, version, alias, comment || undefined);
        setAnswer({ ok: true, text: `request ${made.id} opened: ${props.name}@${version} → ${alias}` });
      } else {
        const moved = await api.promote(props.name, version, alias, require || undefined, comment || undefined);
        setAnswer({ ok: true, text: `${moved.ref} is now ${alias}` });
      }
      props.onDone();
    } catch (err) {
      setAnswer(failure(err));
    }
  };
  return (
    <form className="jp-mlops-promote" onSubmit={submit}>
      <label>
        version{' '}
        <select className="jp-mod-styled" value={version} onChange={e => setVersion(Number(e.target.value))}>
          {props.versions.map(v => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      <label>
        alias <input className="jp-mod-styled" value={alias} onChange={e => setAlias(e.target.value)} />
      </label>
      {!asks && (
        <label className="jp-mlops-wide">
          gate{' '}
          <input
            className="jp-mod-styled"
            placeholder="metrics.f1 >= production.metrics.f1"
            value={require}
            onChange={e => setRequire(e.target.value)}
          />
        </label>
      )}
      <label className="jp-mlops-wide">
        comment <input className="jp-mod-styled" value={comment} onChange={e => setComment(e.target.value)} />
      </label>
      <button
        type="submit"
        className={`jp-mod-styled jp-mlops-button ${asks ? 'jp-mlops-request' : 'jp-mlops-promote-button'}`}
        disabled={disabled}
        title={
          asks
            ? `${alias} is protected: it moves when a maintainer approves${policy?.gate ? `, if ${policy.gate}` : ''}`
            : undefined
        }
      >
        {asks ? 'Request promotion' : 'Promote'}
      </button>
      {answer && (
        <div className={answer.ok ? 'jp-mlops-ok' : 'jp-mlops-error'} role="status">
          {answer.text}
        </div>
      )}
    </form>
  );
}

export function Policies(props: { policies: IAliasPolicy[] }): JSX.Element {
  if (!props.policies.length) {
    return <div className="jp-mlops-muted">no alias is protected</div>;
  }
  return (
    <table className="jp-mlops-table jp-mlops-policies">
      <thead>
        <tr>
          <th>alias</th>
          <th>moves</th>
          <th>gate</th>
          <th>approver</th>
          <th>set by</th>
        </tr>
      </thead>
      <tbody>
        {props.policies.map(p => (
          <tr key={p.alias} data-alias={p.alias}>
            <td>@{p.alias}</td>
            <td>{p.protected ? 'by approved request' : 'freely'}</td>
            <td>{p.gate ? <code>{p.gate}</code> : '—'}</td>
            <td>{p.two_person ? 'another person' : 'anyone'}</td>
            <td>{p.updated_by ?? 'default'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Decide(props: { request: IPromotionRequestRow; me: IMe; onDone: () => void }): JSX.Element {
  const { request, me } = props;
  const [comment, setComment] = useState('');
  const [answer, setAnswer] = useState<Answer>(null);
  const own = request.requested_by === me.user;
  const act = async (approve: boolean) => {
    try {
      if (approve) {
        await api.approve(request.id, comment || undefined);
      } else {
        await api.reject(request.id, comment);
      }
      setAnswer(null);
      props.onDone();
    } catch (err) {
      setAnswer(failure(err));
    }
  };
  return (
    <div className="jp-mlops-decide">
      <input
        className="jp-mod-styled"
        placeholder="comment (a rejection says why)"
        aria-label={`comment on request ${request.id}`}
        value={comment}
        onChange={e => setComment(e.target.value)}
      />
      <button
        className="jp-mod-styled jp-mlops-button jp-mlops-approve"
        onClick={() => void act(true)}
        title={own ? 'your own request: under the two-person rule another maintainer approves' : undefined}
      >
        Approve
      </button>
      <button
        className="jp-mod-styled jp-mlops-button jp-mlops-reject"
        disabled={!comment.trim()}
        title={comment.trim() ? undefined : 'say why in the comment'}
        onClick={() => void act(false)}
      >
        Reject
      </button>
      {answer && (
        <div className="jp-mlops-error" role="status">
          {answer.text}
        </div>
      )}
    </div>
  );
}

export function Requests(props: {
  requests: IPromotionRequestRow[];
  me: IMe;
  error: unknown;
  onDone: () => void;
}): JSX.Element {
  const { requests, me } = props;
  return (
    <div className="jp-mlops-requests">
      <ErrorBox error={props.error} />
      {requests.length === 0 ? (
        <div className="jp-mlops-muted">no open request</div>
      ) : (
        requests.map(r => (
          <div key={r.id} className="jp-mlops-request-item" data-request={r.id}>
            <div>
              <strong>
                #{r.id} v{r.version} → @{r.alias}
              </strong>{' '}
              <span className="jp-mlops-muted">
                by {r.requested_by ?? '—'} <When at={r.requested_at} />
              </span>
              {r.comment && <span className="jp-mlops-muted"> · “{r.comment}”</span>}
            </div>
            {r.gate && (
              <div className="jp-mlops-gate">
                gate <code>{r.gate}</code>
                {r.gate_values && Object.keys(r.gate_values).length > 0 && ': '}
                <GateValues values={r.gate_values} />
              </div>
            )}
            {me.may.approve && <Decide request={r} me={me} onDone={props.onDone} />}
          </div>
        ))
      )}
    </div>
  );
}
