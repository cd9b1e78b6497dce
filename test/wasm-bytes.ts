/**
 * WebAssembly binaries built byte by byte, for tests: unsigned LEB128, sections, a module from its
 * sections, and a task whose data segment makes its registration as large as asked.
 */

export function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];

export function section(id: number, content: ArrayLike<number>): number[] {
  return [id, ...leb(content.length), ...Array.from(content)];
}

/** A module: the header and the given sections. */
export function bin(...sections: number[][]): Uint8Array {
  return new Uint8Array([...HEADER, ...sections.flat()]);
}

/** A task (`main: [] -> []`, returns at once) with a data segment of `data` at address 0. */
export function taskWithData(data: Uint8Array): Uint8Array {
  const pages = Math.max(1, Math.ceil(data.length / 65536));
  return bin(
    section(1, [1, 0x60, 0, 0]), // one type: [] -> []
    section(3, [1, 0]), // one function of type 0
    section(5, [1, 0, ...leb(pages)]), // one memory, min pages
    section(7, [1, 4, ...Buffer.from("main"), 0, 0]), // export "main" = func 0
    section(10, [1, 2, 0, 0x0b]), // body: no locals, end
    section(11, [1, 0, 0x41, 0, 0x0b, ...leb(data.length), ...Array.from(data)]), // one active segment at i32.const 0
  );
}
