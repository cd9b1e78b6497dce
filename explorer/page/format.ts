/** Numbers as a person reads them: ETH, gas, steps, durations, times, short hashes. */

const group = (s: string) => s.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** A decimal integer (string, number or bigint) with thousands separators. */
export function num(x: string | number | bigint | null | undefined): string {
  if (x === null || x === undefined || x === "") return "—";
  const s = String(x);
  return /^-?\d+$/.test(s) ? (s.startsWith("-") ? "-" + group(s.slice(1)) : group(s)) : s;
}

/** Wei (decimal string) as ETH, trimmed: "1", "0.25", "0.000001". */
export function eth(wei: string | bigint | null | undefined, digits = 6): string {
  if (wei === null || wei === undefined || wei === "") return "—";
  let v = BigInt(wei);
  const neg = v < 0n;
  if (neg) v = -v;
  const whole = v / 10n ** 18n;
  let frac = (v % 10n ** 18n).toString().padStart(18, "0").slice(0, digits).replace(/0+$/, "");
  if (!frac && v % 10n ** 18n !== 0n && whole === 0n) frac = "0".repeat(digits - 1) + "1"; // dust shows as the smallest digit
  return `${neg ? "-" : ""}${group(whole.toString())}${frac ? "." + frac : ""} ETH`;
}

export function gas(g: number | null | undefined): string {
  return g === null || g === undefined ? "—" : `${num(g)} gas`;
}

export function steps(s: string | null | undefined): string {
  if (s === null || s === undefined || s === "") return "—";
  return `${num(s)} ${s === "1" ? "step" : "steps"}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${+(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** A duration in seconds: "45 s", "3 min 20 s", "2 h 5 min", "3 d 4 h" (`coarse`: no seconds from 10 min on). */
export function duration(sec: number, coarse = false): string {
  sec = Math.max(0, Math.round(sec));
  if (sec < 60) return `${sec} s`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min${sec % 60 && !(coarse && sec >= 600) ? ` ${sec % 60} s` : ""}`;
  if (sec < 86_400) return `${Math.floor(sec / 3600)} h${Math.floor((sec % 3600) / 60) ? ` ${Math.floor((sec % 3600) / 60)} min` : ""}`;
  return `${Math.floor(sec / 86_400)} d${Math.floor((sec % 86_400) / 3600) ? ` ${Math.floor((sec % 86_400) / 3600)} h` : ""}`;
}

/** `t` relative to `now` (both seconds): "in 5 min", "3 s ago". */
export function relative(t: number, now: number): string {
  const d = t - now;
  if (Math.abs(d) < 1) return "now";
  return d > 0 ? `in ${duration(d, true)}` : `${duration(-d, true)} ago`;
}

/** A block timestamp as a local date and time. */
export function when(t: number | null | undefined): string {
  if (t === null || t === undefined) return "—";
  const d = new Date(t * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A block timestamp, compact: "12-06 17:03". */
export function whenShort(t: number | null | undefined): string {
  if (t === null || t === undefined) return "—";
  return when(t).slice(5, 16);
}

/** 0x1234…abcd */
export function short(h: string | null | undefined, head = 6, tail = 4): string {
  if (!h) return "—";
  return h.length > head + tail + 3 ? `${h.slice(0, head)}…${h.slice(-tail)}` : h;
}

export function plural(n: number, one: string, many = one + "s"): string {
  return `${num(n)} ${n === 1 ? one : many}`;
}
