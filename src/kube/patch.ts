// client-node's typed PATCH calls send `application/json-patch+json` unless told otherwise; these
// per-request options pick the patch type (pass as the call's second argument).
import {
  type ConfigurationOptions,
  Observable,
  PatchStrategy,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

function withContentType(type: string): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setHeaderParam('Content-Type', type);
          return new Observable(Promise.resolve(context));
        },
        post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** RFC 7386 JSON merge patch. */
export const mergePatch = (): ConfigurationOptions => withContentType(PatchStrategy.MergePatch);
/** RFC 6902 JSON patch (the default, named for clarity where a `test` op matters). */
export const jsonPatch = (): ConfigurationOptions => withContentType(PatchStrategy.JsonPatch);
