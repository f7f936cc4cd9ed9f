package outbox

import (
	"encoding/json"
	"math"
	"strconv"
)

// MetadataValue returns v as a metadata value is kept: a string, a bool or
// a json.Number (for any Go or JSON number), and false for anything else
// (null, an object, a list, a number that is not finite).
func MetadataValue(v any) (any, bool) {
	switch v := v.(type) {
	case string, bool:
		return v, true
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil {
			return nil, false
		}
		return v, true
	case int:
		return json.Number(strconv.FormatInt(int64(v), 10)), true
	case int32:
		return json.Number(strconv.FormatInt(int64(v), 10)), true
	case int64:
		return json.Number(strconv.FormatInt(v, 10)), true
	case float64:
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, false
		}
		return json.Number(strconv.FormatFloat(v, 'g', -1, 64)), true
	}
	return nil, false
}

// SameMetadataValue reports whether two values MetadataValue returned are
// equal as JSON values are: numbers by value, so 1 and 1.0 are the same.
func SameMetadataValue(a, b any) bool {
	na, aNum := a.(json.Number)
	nb, bNum := b.(json.Number)
	if aNum && bNum {
		fa, errA := na.Float64()
		fb, errB := nb.Float64()
		return errA == nil && errB == nil && fa == fb
	}
	return !aNum && !bNum && a == b
}
