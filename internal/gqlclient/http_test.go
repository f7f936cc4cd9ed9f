package gqlclient

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Query     string
			Variables map[string]any
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		switch req.Query {
		case "ok":
			_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{
				"auth": r.Header.Get("Authorization"), "id": r.Header.Get("X-Request-Id"), "n": req.Variables["n"],
			}})
		case "refused":
			w.WriteHeader(http.StatusUnprocessableEntity)
			_, _ = io.WriteString(w, `{"errors":[{"message":"no","extensions":{"code":"FORBIDDEN"}}]}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<html>bad gateway</html>")
		}
	}))
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL)

	r, err := c.Post(t.Context(), Request{Query: "ok", Variables: map[string]any{"n": 7}, Token: "tok", Header: http.Header{"X-Request-Id": {"r1"}}})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.Status)
	var data struct {
		Auth, ID string
		N        int
	}
	require.NoError(t, r.Decode(&data))
	require.Equal(t, "Bearer tok", data.Auth)
	require.Equal(t, "r1", data.ID)
	require.Equal(t, 7, data.N)
	require.Positive(t, r.Took)

	r, err = c.Post(t.Context(), Request{Query: "ok"})
	require.NoError(t, err)
	require.NoError(t, r.Decode(&data))
	require.Empty(t, data.Auth, "no token, no header")

	r, err = c.Post(t.Context(), Request{Query: "refused"})
	require.NoError(t, err, "GraphQL errors are in the response")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, "FORBIDDEN", r.Code())
	require.ErrorContains(t, r.Decode(nil), "FORBIDDEN: no")
	require.Error(t, c.Do(t.Context(), "", "refused", nil, nil))

	_, err = c.Post(t.Context(), Request{Query: "other"})
	require.ErrorContains(t, err, "HTTP 502: <html>bad gateway</html>")
}
