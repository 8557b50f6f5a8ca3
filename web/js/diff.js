// Line diff between two texts: the longest common subsequence of lines
// (after trimming the common head and tail), bounded so a huge value
// cannot freeze the page: past MAX_CELLS the middle is shown as one
// removed block and one added block.

const MAX_CELLS = 4_000_000;

/** [{op: ' ' | '-' | '+', line}] turning `a` into `b`. */
export function lineDiff(a, b) {
  const x = a.split('\n'), y = b.split('\n');
  let head = 0;
  while (head < x.length && head < y.length && x[head] === y[head]) head++;
  let tail = 0;
  while (tail < x.length - head && tail < y.length - head && x[x.length - 1 - tail] === y[y.length - 1 - tail]) tail++;
  const xs = x.slice(head, x.length - tail), ys = y.slice(head, y.length - tail);
  const out = x.slice(0, head).map((line) => ({ op: ' ', line }));
  if ((xs.length + 1) * (ys.length + 1) > MAX_CELLS) {
    for (const line of xs) out.push({ op: '-', line });
    for (const line of ys) out.push({ op: '+', line });
  } else {
    const w = ys.length + 1;
    const L = new Int32Array((xs.length + 1) * w);
    for (let i = xs.length - 1; i >= 0; i--) {
      for (let j = ys.length - 1; j >= 0; j--) {
        L[i * w + j] = xs[i] === ys[j] ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
      }
    }
    let i = 0, j = 0;
    while (i < xs.length || j < ys.length) {
      if (i < xs.length && j < ys.length && xs[i] === ys[j]) { out.push({ op: ' ', line: xs[i] }); i++; j++; }
      else if (i < xs.length && (j === ys.length || L[(i + 1) * w + j] >= L[i * w + j + 1])) { out.push({ op: '-', line: xs[i] }); i++; }
      else { out.push({ op: '+', line: ys[j] }); j++; }
    }
  }
  for (const line of x.slice(x.length - tail)) out.push({ op: ' ', line });
  return out;
}
