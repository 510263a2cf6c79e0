// An element's content width, followed as it resizes (a ResizeObserver): what the step
// graph and the phase flow lay their columns out by. `initial` until it is measured.
import { type RefObject, useEffect, useRef, useState } from 'react';

export function useElementWidth<T extends HTMLElement>(initial = 1000): [RefObject<T | null>, number] {
  const box = useRef<T>(null);
  const [width, setWidth] = useState(initial);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => entry && setWidth(entry.contentRect.width));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  return [box, width];
}
