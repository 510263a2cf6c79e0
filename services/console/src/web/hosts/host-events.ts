// Which of a plan's server-sent events tell the host view to ask again: a `host` event
// (a run changed state or step) about its host. A `plan` snapshot says nothing a host
// view shows.
import type { StreamEvent } from '../api/event-stream.ts';

export const concernsHost = (e: StreamEvent, hostId: string): boolean =>
  e.event === 'host' && typeof e.data === 'object' && e.data !== null && (e.data as { hostId?: unknown }).hostId === hostId;
