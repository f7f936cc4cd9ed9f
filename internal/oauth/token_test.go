package oauth

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestTokenCache(t *testing.T) {
	t.Parallel()
	var c tokenCache
	c.init()
	a, b, conn := uuid.New(), uuid.New(), uuid.New()
	c.put(cacheKey{a, conn}, cachedToken{value: "tok", expiry: time.Now().Add(time.Hour)})

	got, ok := c.get(cacheKey{a, conn}, time.Minute)
	require.True(t, ok)
	require.Equal(t, "tok", got.value)
	_, ok = c.get(cacheKey{b, conn}, time.Minute)
	require.False(t, ok, "another tenant naming the connection id gets nothing")

	// A token within the margin of its expiry counts as gone.
	c.put(cacheKey{a, conn}, cachedToken{value: "old", expiry: time.Now().Add(30 * time.Second)})
	_, ok = c.get(cacheKey{a, conn}, time.Minute)
	require.False(t, ok)

	c.put(cacheKey{a, conn}, cachedToken{value: "tok", expiry: time.Now().Add(time.Hour)})
	c.forget(conn)
	_, ok = c.get(cacheKey{a, conn}, time.Minute)
	require.False(t, ok)
}
