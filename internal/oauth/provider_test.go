package oauth

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckIssuer(t *testing.T) {
	t.Parallel()
	const ms = "https://login.microsoftonline.com/{tenantid}/v2.0"
	for _, tc := range []struct {
		name, discovered, iss, tid string
		ok                         bool
	}{
		{"fixed issuer, checked by go-oidc", "https://accounts.google.com", "https://accounts.google.com", "", true},
		{"template filled with the token's tid", ms, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", "9188040d-6c67-4c5b-b112-36a304b66dad", true},
		{"template with another directory's tid", ms, "https://login.microsoftonline.com/aaaa/v2.0", "bbbb", false},
		{"template without tid", ms, "https://login.microsoftonline.com/aaaa/v2.0", "", false},
		{"template left unfilled", ms, ms, "{tenantid}", false},
		{"tid that changes the path", ms, "https://login.microsoftonline.com/evil/x/v2.0", "evil/x", false},
		{"another host", ms, "https://login.example.com/aaaa/v2.0", "aaaa", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkIssuer(tc.discovered, tc.iss, tc.tid)
			if tc.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}
