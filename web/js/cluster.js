// The cluster page: every member with its URLs and, asked from the member
// itself (its first client URL), leader, raft index/term, DB sizes,
// version and health; and the cluster's alarms. A member that does not
// answer within MEMBER_TIMEOUT_MS is shown as unreachable.

import { call, get } from './api.js';
import { memberHex } from './bytes.js';

export const MEMBER_TIMEOUT_MS = 3000;

const $ = (id) => document.getElementById(id);

function size(n) {
  n = Number(n || 0);
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let u = -1;
  do { n /= 1024; u++; } while (n >= 1024 && u < units.length - 1);
  return `${n.toFixed(1)} ${units[u]}`;
}

function base(url) { return url.replace(/\/+$/, ''); }

export async function renderCluster(notify) {
  let list;
  try { list = await call('/v3/cluster/member/list', {}); } catch (e) { notify(e); return; }
  const members = list.members || [];
  const body = $('members').tBodies[0];
  body.replaceChildren();
  const rows = members.map((m) => {
    const tr = document.createElement('tr');
    tr.dataset.id = m.ID;
    const cells = [m.name || '(unstarted)', memberHex(m.ID), (m.peerURLs || []).join(' '), (m.clientURLs || []).join(' '),
      '…', m.isLearner ? 'yes' : 'no', '…', '…', '…', '…', '…', '…'];
    for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.append(td); }
    tr.cells[1].className = 'mono';
    body.append(tr);
    return { m, tr };
  });
  await Promise.all(rows.map(({ m, tr }) => fillMember(m, tr)));
  await renderAlarms(members);
}

async function fillMember(m, tr) {
  const url = m.clientURLs?.[0];
  const set = (i, v, cls) => { tr.cells[i].textContent = v; if (cls) tr.cells[i].className = cls; };
  if (!url) { for (const i of [4, 6, 7, 8, 9, 10, 11]) set(i, '—'); return; }
  // Same origin for this member; others need CORS, which etcd's client port allows for simple requests.
  const sameOrigin = base(url) === location.origin;
  const b = sameOrigin ? '' : base(url);
  try {
    const s = await call('/v3/maintenance/status', {}, { base: b, timeoutMs: MEMBER_TIMEOUT_MS, auth: sameOrigin });
    set(4, s.leader === m.ID ? 'leader' : m.isLearner ? 'learner' : 'follower', s.leader === m.ID ? 'ok' : '');
    set(6, s.raftIndex || '0'); set(7, s.raftTerm || '0'); set(8, size(s.dbSize)); set(9, size(s.dbSizeInUse)); set(10, s.version || '');
  } catch (e) {
    for (const i of [4, 6, 7, 8, 9, 10]) set(i, '—');
    set(4, 'unreachable', 'bad');
  }
  try {
    const h = await get(b + '/health', { timeoutMs: MEMBER_TIMEOUT_MS });
    const healthy = h.body && (h.body.health === 'true' || h.body.health === true);
    set(11, healthy ? 'healthy' : 'unhealthy', healthy ? 'ok' : 'bad');
  } catch {
    set(11, 'unreachable', 'bad');
  }
}

async function renderAlarms(members) {
  const box = $('alarms');
  try {
    const r = await call('/v3/maintenance/alarm', { action: 'GET' });
    const alarms = r.alarms || [];
    if (!alarms.length) { box.textContent = 'No alarms.'; box.className = 'ok'; return; }
    const names = new Map(members.map((m) => [m.ID, m.name]));
    box.replaceChildren(...alarms.map((a) => {
      const p = document.createElement('p');
      p.className = 'bad';
      p.textContent = `${a.alarm || 'NONE'} on member ${names.get(a.memberID) || memberHex(a.memberID || '0')}`;
      return p;
    }));
  } catch (e) {
    box.className = 'hint';
    box.textContent = `Alarms unavailable: ${e.message}`;
  }
}
