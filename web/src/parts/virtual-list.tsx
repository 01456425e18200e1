import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/**
 * A list that renders only the rows in view (plus a margin), so that 10,000 rows scroll as smoothly as 20: rows have
 * one fixed height. Keyboard: ↑/↓, Home/End, PageUp/PageDown move the selection; Enter opens it.
 */
export function VirtualList<T>({ items, rowHeight, label, selected, onSelect, onOpen, onEnd, render, keyOf }: {
  items: T[]; rowHeight: number; label: string; selected: number; onSelect: (index: number) => void; onOpen: (item: T) => void;
  onEnd?: () => void; render: (item: T, selected: boolean) => ComponentChildren; keyOf: (item: T) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const observer = new ResizeObserver(() => setHeight(el.clientHeight || 600));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(top / rowHeight) - 5);
  const last = Math.min(items.length, Math.ceil((top + height) / rowHeight) + 5);
  // The selected row stays in the DOM even when scrolled away: aria-activedescendant must name a rendered element.
  const shown = items.slice(first, last).map((item, i) => [item, first + i] as const);
  if (selected >= 0 && selected < items.length && (selected < first || selected >= last)) shown.push([items[selected]!, selected]);
  // Near the end, more: again whenever a page arrives (or a load ends) while still near it.
  useEffect(() => {
    if (onEnd && last >= items.length - 10) onEnd();
  }, [last, items.length, onEnd !== undefined]);
  // A row the keyboard moved to comes into view (not one that moved because rows arrived live: the reader's scroll stays).
  const reveal = (index: number) => {
    const el = box.current;
    if (!el) return;
    const y = index * rowHeight;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = y + rowHeight - el.clientHeight;
  };
  const page = Math.max(1, Math.floor(height / rowHeight) - 1);
  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -Infinity, End: Infinity };
    if (e.key in moves) {
      e.preventDefault();
      const next = Math.min(items.length - 1, Math.max(0, (selected < 0 ? -1 : selected) + moves[e.key]!));
      if (Number.isFinite(next)) {
        onSelect(next);
        reveal(next);
      }
    } else if (e.key === 'Enter' && items[selected]) {
      e.preventDefault();
      onOpen(items[selected]!);
    }
  };
  const active = items[selected];
  return (
    <div ref={box} class="vlist" role="listbox" tabIndex={0} aria-label={label} aria-activedescendant={active ? `row-${keyOf(active)}` : undefined}
      onScroll={(e) => setTop(e.currentTarget.scrollTop)} onKeyDown={onKey}>
      <div style={{ height: `${items.length * rowHeight}px`, position: 'relative' }}>
        {shown.map(([item, index]) => {
          return (
            <div key={keyOf(item)} id={`row-${keyOf(item)}`} role="option" aria-selected={index === selected} aria-setsize={items.length} aria-posinset={index + 1}
              class={`row${index === selected ? ' selected' : ''}`}
              style={{ position: 'absolute', top: `${index * rowHeight}px`, height: `${rowHeight}px`, left: 0, right: 0 }}
              onClick={() => { onSelect(index); onOpen(item); }}>
              {render(item, index === selected)}
            </div>
          );
        })}
      </div>
    </div>
  );
}
