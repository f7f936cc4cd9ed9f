// Package metrics holds Outbox's Prometheus collectors in a registry of its
// own (no package globals): HTTP and GraphQL request counts and latency, and
// River job counts by kind and state, read from Postgres at scrape time.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// JobCount is the number of River jobs of one kind in one state.
type JobCount struct {
	Kind  string
	State string
	Count int64
}

// Metrics is the service's collectors and the registry that exposes them.
type Metrics struct {
	registry        *prometheus.Registry
	httpRequests    *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	graphqlRequests *prometheus.CounterVec
	graphqlDuration *prometheus.HistogramVec
}

// New returns Metrics with Go runtime and process collectors registered.
// jobCounts, when not nil, is called at each scrape to report River jobs.
func New(jobCounts func(context.Context) ([]JobCount, error), logger *slog.Logger) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "outbox_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		graphqlRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "outbox_graphql_operations_total", Help: "GraphQL operations by type, name and outcome.",
		}, []string{"type", "operation", "outcome"}),
		graphqlDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "outbox_graphql_operation_duration_seconds", Help: "GraphQL operation latency by type and name.",
			Buckets: prometheus.DefBuckets,
		}, []string{"type", "operation"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.graphqlRequests, m.graphqlDuration,
	)
	if jobCounts != nil {
		m.registry.MustRegister(&jobCollector{counts: jobCounts, logger: logger, desc: prometheus.NewDesc(
			"outbox_river_jobs", "River jobs by kind and state.", []string{"kind", "state"}, nil)})
	}
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveGraphQL records one GraphQL operation. opType and name become
// label values, so they must come from a fixed set (the schema's root
// fields, "other"), never from the client; an empty name is "other".
func (m *Metrics) ObserveGraphQL(opType, name string, failed bool, d time.Duration) {
	if name == "" {
		name = "other"
	}
	outcome := "ok"
	if failed {
		outcome = "error"
	}
	m.graphqlRequests.WithLabelValues(opType, name, outcome).Inc()
	m.graphqlDuration.WithLabelValues(opType, name).Observe(d.Seconds())
}

// Middleware counts and times the requests of one route.
func (m *Metrics) Middleware(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		m.httpRequests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer (websocket
// upgrades need its Hijacker, streaming its Flusher).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type jobCollector struct {
	counts func(context.Context) ([]JobCount, error)
	logger *slog.Logger
	desc   *prometheus.Desc
}

func (c *jobCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *jobCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.counts(ctx)
	if err != nil {
		c.logger.Warn("counting river jobs for metrics", "error", err)
		return
	}
	for _, jc := range counts {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(jc.Count), jc.Kind, jc.State)
	}
}
