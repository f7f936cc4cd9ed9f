//go:build race

package app_test

// raceSlowdown stretches time bounds under the race detector.
const raceSlowdown = 5
