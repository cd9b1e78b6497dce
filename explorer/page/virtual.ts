/**
 * Window-scrolled virtual rows (@tanstack/virtual-core): a long list renders only the rows near the
 * viewport, so its cost does not grow with the number of tasks.
 */
import { observeWindowOffset, observeWindowRect, Virtualizer, windowScroll, type VirtualizerOptions } from "@tanstack/virtual-core";
import type { RefObject } from "preact";
import { useLayoutEffect, useReducer, useRef, useState } from "preact/hooks";

export function useWindowRows(count: number, rowHeight: number, list: RefObject<HTMLElement | null>): Virtualizer<Window, HTMLElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const [margin, setMargin] = useState(0);
  const options: VirtualizerOptions<Window, HTMLElement> = {
    count,
    estimateSize: () => rowHeight,
    overscan: 10,
    getScrollElement: () => window,
    observeElementRect: observeWindowRect,
    observeElementOffset: observeWindowOffset,
    scrollToFn: windowScroll,
    initialRect: { width: window.innerWidth, height: window.innerHeight },
    scrollMargin: margin,
    onChange: () => rerender(0),
  };
  const v = useRef<Virtualizer<Window, HTMLElement> | null>(null);
  if (!v.current) v.current = new Virtualizer(options);
  else v.current.setOptions(options);
  useLayoutEffect(() => v.current!._didMount(), []);
  useLayoutEffect(() => {
    v.current!._willUpdate();
    // where the list starts in the document (what sits above it may change height)
    const top = list.current ? list.current.getBoundingClientRect().top + window.scrollY : 0;
    if (Math.abs(top - margin) > 0.5) setMargin(top);
  });
  return v.current;
}
