/**
 * Tiny WebAssembly modules built byte by byte for the dapp tests: a task whose data segment makes
 * its registration as large as asked (`main` does nothing).
 */
function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

function section(id: number, body: number[] | Uint8Array): Uint8Array {
  const head = [id, ...leb(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/** A task (`main: [] -> []`, returns at once) with a data segment of `data` at address 0. */
export function taskWithData(data: Uint8Array): Uint8Array {
  const pages = Math.max(1, Math.ceil(data.length / 65536));
  const prefix = [1, 0, 0x41, 0, 0x0b, ...leb(data.length)]; // one active segment at i32.const 0
  const dataBody = new Uint8Array(prefix.length + data.length);
  dataBody.set(prefix);
  dataBody.set(data, prefix.length);
  const parts = [
    new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]),
    section(1, [1, 0x60, 0, 0]), // one type: [] -> []
    section(3, [1, 0]), // one function of type 0
    section(5, [1, 0, ...leb(pages)]), // one memory, min pages
    section(7, [1, 4, ...Buffer.from("main"), 0, 0]), // export "main" = func 0
    section(10, [1, 2, 0, 0x0b]), // body: no locals, end
    section(11, dataBody),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
