/**
 * The simulated Amplitude export's events: the same (seed, hour, index) always gives the same event,
 * so a range can be built in any order and a test can compute the uuids it expects without storing
 * anything. Lines are assembled from cached per-user fragments because a benchmark asks for a
 * million of them.
 */

import { mulberry32 } from './rng.js';
export const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** murmur3's finaliser: a bijection on 32 bits, so distinct inputs never collide. */
export function fmix(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export function mix(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = fmix(h ^ fmix(x));
  return h;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const hex8 = (n: number): string => `${HEX[n >>> 24]}${HEX[(n >>> 16) & 255]}${HEX[(n >>> 8) & 255]}${HEX[n & 255]}`;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

/** Injective in (hour, idx) for one seed: the last word is a bijection of idx given the hour, the first of the hour given the last. */
export function uuidOf(seed: number, hourMs: number, idx: number): string {
  const h = hourMs / HOUR;
  const last = fmix(idx ^ mix(seed, h, 1));
  const first = fmix(h ^ fmix(last ^ mix(seed, 2)));
  const s = hex8(first) + hex8(mix(seed, h, idx, 3)) + hex8(mix(seed, h, idx, 4)) + hex8(last);
  const variant = '89ab'[mix(seed, h, idx, 5) & 3];
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-4${s.slice(13, 16)}-${variant}${s.slice(17, 20)}-${s.slice(20, 32)}`;
}

export interface HourCountOptions {
  mean: number;
  pEmpty: number;
  empty: Array<{ from: number; to: number }>;
}

/** How many events an hour has before any late ones: Poisson-ish around the mean, or none. */
export function hourEventCount(seed: number, hourMs: number, o: HourCountOptions): number {
  if (o.mean <= 0 || o.empty.some((e) => hourMs >= e.from && hourMs < e.to)) return 0;
  const r = mulberry32(mix(seed, hourMs / HOUR, 0xc0));
  if (r() < o.pEmpty) return 0;
  if (o.mean > 60) {
    const z = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    return Math.max(0, Math.round(o.mean + Math.sqrt(o.mean) * z));
  }
  const limit = Math.exp(-o.mean);
  let k = 0;
  for (let p = r(); p > limit; p *= r()) k++;
  return k;
}

const TYPES: Array<[string, number]> = [
  ['page_view', 30],
  ['screen_view', 14],
  ['button_click', 14],
  ['session_start', 8],
  ['session_end', 7],
  ['search', 6],
  ['add_to_cart', 5],
  ['notification_open', 4],
  ['video_play', 4],
  ['share', 3],
  ['sign_up', 2],
  ['purchase', 2],
  ['[Amplitude] Revenue', 1],
];
const TYPE_TOTAL = TYPES.reduce((s, [, w]) => s + w, 0);
// platform, os_name, device_brand, device_family, device_type, library
const DEVICES: Array<[string, string, string | null, string, string, string]> = [
  ['iOS', 'ios', 'Apple', 'Apple iPhone', 'iPhone 15', 'amplitude-swift/1.9.2'],
  ['Android', 'android', 'Samsung', 'Samsung Galaxy S23', 'SM-S911B', 'amplitude-android/1.16.1'],
  ['Web', 'Chrome', null, 'Mac', 'Mac', 'amplitude-ts/2.11.0'],
  ['Web', 'Firefox', null, 'Windows', 'Windows', 'amplitude-ts/2.11.0'],
];
// country, region, city, dma, lat, lng, language
const PLACES: Array<[string, string, string, string | null, number, number, string]> = [
  ['United States', 'California', 'San Francisco', 'San Francisco-Oakland-San Jose, CA', 37.7749, -122.4194, 'English'],
  ['United States', 'New York', 'New York', 'New York, NY', 40.7128, -74.006, 'English'],
  ['Germany', 'Berlin', 'Berlin', null, 52.52, 13.405, 'German'],
  ['Brazil', 'Sao Paulo', 'Sao Paulo', null, -23.5505, -46.6333, 'Portuguese'],
  ['Japan', 'Tokyo', 'Tokyo', null, 35.6762, 139.6503, 'Japanese'],
  ['India', 'Karnataka', 'Bengaluru', null, 12.9716, 77.5946, 'English'],
];
const WORDS = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango'.split(' ');
const CARRIERS = ['Verizon', 'T-Mobile', 'Vodafone', 'NTT Docomo', 'Jio'];
const USERS = 20_000;
const USERS_SINCE = Date.UTC(2023, 0, 1);

function weighted(x: number): string {
  let left = x;
  for (const [t, w] of TYPES) {
    left -= w;
    if (left < 0) return t;
  }
  return 'page_view';
}

export interface EventGenerator {
  /** One JSON line, `\n` terminated. */
  line(hourMs: number, idx: number): string;
}

/**
 * `eventBytes` > 0 pads event_properties so a line is about that long (unpadded lines are
 * ~1.1 KB, so smaller values change nothing).
 */
export function eventGenerator(seed: number, projectId: number, eventBytes: number): EventGenerator {
  const users = new Map<number, string>();
  let day = -1;
  let dayPrefix = '';
  const r0 = mulberry32(mix(seed, 0xbad));
  const pad = eventBytes > 0 ? Array.from({ length: Math.max(65_536, 2 * eventBytes) / 6 }, () => pick(r0, WORDS)).join(' ') : '';

  /** 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC), the export's time format. */
  function ampTime(ms: number, micros: number): string {
    const d = Math.floor(ms / DAY);
    if (d !== day) {
      day = d;
      dayPrefix = `${new Date(d * DAY).toISOString().slice(0, 10)} `;
    }
    const t = ms - d * DAY;
    const frac = String(1_000_000 + (t % 1000) * 1000 + micros).slice(1);
    return `${dayPrefix}${TWO[Math.floor(t / HOUR)]}:${TWO[Math.floor(t / 60_000) % 60]}:${TWO[Math.floor(t / 1000) % 60]}.${frac}`;
  }

  // Everything that depends only on the user, as JSON members without braces.
  function user(u: number): string {
    const hit = users.get(u);
    if (hit) return hit;
    const device = mix(seed, u, 0xde);
    const [platform, os, brand, family, model, library] = DEVICES[u % DEVICES.length] as (typeof DEVICES)[number];
    const [country, region, city, dma, lat, lng, language] = PLACES[fmix(u) % PLACES.length] as (typeof PLACES)[number];
    const json = JSON.stringify({
      user_id: u % 5 === 0 ? null : `user-${u}`,
      device_id: `${hex8(device)}-${hex8(mix(device, 1)).slice(0, 4)}-4${hex8(mix(device, 2)).slice(0, 3)}-${hex8(mix(device, 3))}`,
      amplitude_id: 400_000_000_000 + u,
      user_creation_time: ampTime(USERS_SINCE + (fmix(u ^ seed) % 63_072_000) * 1000, 0),
      app: projectId,
      version_name: `3.${u % 9}.${u % 4}`,
      platform,
      os_name: os,
      os_version: `${14 + (u % 4)}.${u % 3}`,
      device_brand: brand,
      device_family: family,
      device_type: model,
      device_carrier: platform === 'Web' ? null : CARRIERS[device % CARRIERS.length],
      country,
      region,
      city,
      dma,
      language,
      location_lat: lat,
      location_lng: lng,
      ip_address: `${10 + (u % 200)}.${u % 251}.${device % 253}.${1 + (fmix(device) % 253)}`,
      user_properties: { plan: ['free', 'pro', 'team'][u % 3], beta: u % 10 === 0, signup_week: 1 + (u % 52) },
      library,
    });
    users.set(u, json.slice(1, -1));
    return json.slice(1, -1);
  }

  // Lines are written as template strings (every value comes from a JSON-safe set): JSON.stringify
  // of each event was most of the cost of building a million of them.
  return {
    line(hourMs, idx) {
      const r = mulberry32(mix(seed, hourMs / HOUR, idx, 0xe7));
      const type = weighted(r() * TYPE_TOTAL);
      const upload = hourMs + Math.floor(r() * HOUR); // the export's hours are over server_upload_time
      const us = Math.floor(r() * 1000);
      const evTime = ampTime(upload - Math.floor(r() * 300_000), us);
      const up = ampTime(upload, us);
      const u = Math.floor(r() * USERS);
      const value = Math.round(r() * 10_000) / 100;
      const referrer = r() < 0.5 ? 'null' : `"https://${pick(r, WORDS)}.example.com/"`;
      const tags = Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, WORDS)).join('","');
      let props = `{"path":"/${pick(r, WORDS)}/${pick(r, WORDS)}","referrer":${referrer},"value":${value},"tags":["${tags}"]`;
      if (type === 'purchase' || type === '[Amplitude] Revenue') props += `,"revenue":${value},"currency":"USD","quantity":${1 + Math.floor(r() * 3)}`;
      const head =
        `{"uuid":"${uuidOf(seed, hourMs, idx)}","$insert_id":"${hex8(mix(seed, u, 0xde))}-${hex8(mix(seed, hourMs / HOUR, idx, 6))}",` +
        `"event_id":${(idx % 100_000) + 1},"event_type":"${type}","event_time":"${evTime}","client_event_time":"${evTime}",` +
        `"server_upload_time":"${up}","server_received_time":"${up}","client_upload_time":"${ampTime(upload - Math.floor(r() * 2000), us)}",` +
        `"processed_time":"${ampTime(upload + 1000 + Math.floor(r() * 20_000), us)}","session_id":${upload - Math.floor(r() * 1_800_000)},`;
      const tail = `,"group_properties":{},"groups":{},"data":${r() < 0.3 ? '{"path":"/2/httpapi"}' : '{}'},"schema":12}\n`;
      const fields = user(u);
      const fill = eventBytes - (head.length + fields.length + 20 + props.length + 1 + tail.length) - 9;
      if (fill > 0) {
        const off = Math.floor(r() * Math.max(0, pad.length - fill));
        props += `,"pad":"${pad.slice(off, off + fill)}"`;
      }
      return `${head}${fields},"event_properties":${props}}${tail}`;
    },
  };
}
