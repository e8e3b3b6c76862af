/**
 * A gRPC client interceptor that cancels every call in flight on the connection when `signal`
 * aborts, and forgets each call once it has finished.
 *
 * Why not `Connection.withAbortSignal`: the Temporal client adds one 'abort' listener per call to
 * the signal and never removes it (@temporalio/client 1.x, connection.js), so a CLI that watches a
 * run for hours under one signal gathers a listener (and the finished call it holds) per poll,
 * and Node prints "MaxListenersExceededWarning: Possible EventTarget memory leak detected" after
 * the eleventh. Here the listener lives exactly as long as its call.
 *
 * Put it first in `ConnectionOptions.interceptors`, before the SDK's retry interceptor
 * (`makeGrpcRetryInterceptor`), so a cancelled call is not retried: CANCELLED is not retryable.
 * A call started after the signal aborted runs normally (an aborted signal fires no more events),
 * as with `withAbortSignal`.
 *
 * @param signal aborting it cancels the calls then in flight with status CANCELLED
 * @returns an interceptor for `Connection.connect({ interceptors })`
 */
import { InterceptingCall, status, type Interceptor } from '@grpc/grpc-js';

export function abortInterceptor(signal: AbortSignal): Interceptor {
  return (options, nextCall) => {
    const call: InterceptingCall = new InterceptingCall(nextCall(options), {
      start(metadata, _listener, next) {
        const onAbort = () => call.cancelWithStatus(status.CANCELLED, 'interrupted');
        signal.addEventListener('abort', onAbort, { once: true });
        // a partial listener: grpc-js passes the other events through to the caller's
        next(metadata, {
          onReceiveStatus(callStatus, nextStatus) {
            signal.removeEventListener('abort', onAbort);
            nextStatus(callStatus);
          },
        });
      },
    });
    return call;
  };
}
