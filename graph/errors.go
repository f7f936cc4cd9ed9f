package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/outbox/outbox/internal/outbox"
)

// errorPresenter is the one place where domain errors become GraphQL errors:
// an *outbox.Error keeps its message and gets extensions.code (with field,
// reason or retryAfter); gqlgen's own parse and validation errors pass through; any
// other error is logged with the request id and shown only as INTERNAL.
func errorPresenter(logger *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		if e := outbox.AsError(err); e != nil {
			gqlErr.Message = e.Message
			ext := map[string]any{"code": string(e.Code)}
			if e.Field != "" {
				ext["field"] = e.Field
			}
			if e.Reason != "" {
				ext["reason"] = e.Reason
			}
			if e.Code == outbox.ERATELIMITED {
				ext["retryAfter"] = int(math.Ceil(e.RetryAfter.Seconds()))
			}
			gqlErr.Extensions = ext
			return gqlErr
		}
		var parseErr *gqlerror.Error
		if errors.As(err, &parseErr) && parseErr.Extensions["code"] != nil {
			return gqlErr // gqlgen's own: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, COMPLEXITY_LIMIT_EXCEEDED…
		}
		requestID := outbox.RequestIDFromContext(ctx)
		logger.ErrorContext(ctx, "internal error", "request_id", requestID, "path", gqlErr.Path.String(), "error", err)
		gqlErr.Message = fmt.Sprintf("internal error (request id %s)", requestID)
		gqlErr.Extensions = map[string]any{"code": string(outbox.EINTERNAL)}
		return gqlErr
	}
}

// recoverFunc turns a resolver panic into an internal error; the panic value
// is logged by the presenter, never shown.
func recoverFunc(_ context.Context, p any) error {
	return fmt.Errorf("panic in resolver: %v", p)
}
