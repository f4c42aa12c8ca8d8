// Requests and failed requests per API, counted from the request observer (the one place the client
// reports its requests): what gtr_zstack_requests / gtr_zstack_errors and the benchmark show.
import type { ApiName } from './types.js';
import type { RequestObserver } from './http.js';

export class RequestCounts {
  readonly requests: Partial<Record<ApiName, number>> = {};
  readonly errors: Partial<Record<ApiName, number>> = {};

  readonly observe: RequestObserver = (api, _method, _seconds, failure) => {
    this.requests[api] = (this.requests[api] ?? 0) + 1;
    if (failure !== null) this.errors[api] = (this.errors[api] ?? 0) + 1;
  };
}
