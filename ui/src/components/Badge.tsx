export function PhaseBadge({ phase }: { phase: string | undefined }) {
  const p = phase ?? 'Pending';
  return <span class={`badge phase-${p.toLowerCase()}`}>{p}</span>;
}

export function Tag({ children }: { children: string }) {
  return <span class="badge">{children}</span>;
}
