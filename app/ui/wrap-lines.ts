/**
 * Word wrap done here rather than by the terminal, so the interface knows how many rows a text
 * takes (to scroll it and to fit 80×24). A continuation line keeps the indentation of its line
 * (up to half the width); a word longer than the width is cut.
 */

/** Display width of a line (one column per code point: the interface prints no wide characters). */
export function width(s: string): number {
  return [...s].length;
}

/** One line wrapped to `columns` columns. */
export function wrapLine(line: string, columns: number): string[] {
  const w = Math.max(10, columns);
  if (width(line) <= w) return [line];
  const indent = /^ */.exec(line)![0];
  const hang = width(indent) < w / 2 ? indent : '';
  const out: string[] = [];
  let cur = hang === indent ? indent : '';
  let hasWord = false;
  for (let word of line.slice(indent.length).split(/ +/).filter((x) => x !== '')) {
    for (;;) {
      const sep = hasWord ? ' ' : '';
      if (width(cur) + width(sep) + width(word) <= w) {
        cur += sep + word;
        hasWord = true;
        break;
      }
      if (hasWord) {
        out.push(cur);
        cur = hang;
        hasWord = false;
        continue;
      }
      const room = Math.max(1, w - width(cur));
      const chars = [...word];
      out.push(cur + chars.slice(0, room).join(''));
      word = chars.slice(room).join('');
      cur = hang;
      if (word === '') break;
    }
  }
  if (hasWord) out.push(cur);
  return out;
}

/** Every line wrapped to `columns` columns. */
export function wrapLines(lines: readonly string[], columns: number): string[] {
  return lines.flatMap((l) => wrapLine(l, columns));
}
