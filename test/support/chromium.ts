import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { requireProgram } from './programs.js';

/** A Chromium on PATH or Debian's; suites that render skip without it: `lacks('chromium')`. */
export const chromiumBin = (): string => requireProgram('chromium');

/** Renders a local HTML file headless: a PNG screenshot and the DOM after scripts ran. */
export function renderHtml(file: string, png: string): { dom: string } {
  const bin = chromiumBin();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-chromium-'));
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--no-first-run',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
  const url = `file://${path.resolve(file)}`;
  try {
    const shot = spawnSync(bin, [...base, '--window-size=1280,1400', `--screenshot=${png}`, url], { encoding: 'utf8', timeout: 90_000 });
    if (!fs.existsSync(png)) throw new Error(`Chromium made no screenshot (exit ${shot.status}): ${shot.stderr.slice(-500)}`);
    const dump = spawnSync(bin, [...base, '--dump-dom', url], { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
    return { dom: dump.stdout };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** Distinct colours and the share of pixels off the most common one, for an 8-bit RGB(A) PNG. */
export function pngInk(file: string): { colours: number; inked: number } {
  const buf = fs.readFileSync(file);
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 4;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      channels = data[9] === 6 ? 4 : 3;
      if (data[8] !== 8 || (data[9] !== 6 && data[9] !== 2)) throw new Error('only 8-bit RGB(A) PNGs are read here');
    }
    if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)] as number;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? (px[y * stride + x - channels] as number) : 0;
      const b = y > 0 ? (px[(y - 1) * stride + x] as number) : 0;
      const c = x >= channels && y > 0 ? (px[(y - 1) * stride + x - channels] as number) : 0;
      const p = a + b - c;
      const pred =
        [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c][
          filter
        ] ?? 0;
      px[y * stride + x] = ((line[x] as number) + pred) & 0xff;
    }
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < px.length; i += channels) {
    const k = (px[i] as number) * 65536 + (px[i + 1] as number) * 256 + (px[i + 2] as number);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const total = width * height;
  return { colours: counts.size, inked: (total - Math.max(...counts.values())) / total };
}
