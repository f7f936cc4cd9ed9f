package outbox

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// MaxMetadataExponent bounds the exponent of a metadata number: its plain
// form (plainNumber) has about that many digits.
const MaxMetadataExponent = 1000

// MetadataValue returns v as a metadata value is kept: a string, a bool or
// a json.Number (for any Go or JSON number) in the plain form PostgreSQL
// keeps a jsonb number in (plainNumber: 1E+2 is 100), and false for
// anything else (null, an object, a list, a number that is not finite as
// a float64 or not written as JSON writes numbers).
func MetadataValue(v any) (any, bool) {
	switch v := v.(type) {
	case string, bool:
		return v, true
	case json.Number:
		if _, err := strconv.ParseFloat(string(v), 64); err != nil {
			return nil, false
		}
		plain, ok := plainNumber(string(v))
		if !ok {
			return nil, false
		}
		return json.Number(plain), true
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
		plain, _ := plainNumber(strconv.FormatFloat(v, 'g', -1, 64)) // a finite float's exponent is within ±324
		return json.Number(plain), true
	}
	return nil, false
}

// plainNumber returns the JSON number s as PostgreSQL's numeric type (and
// so jsonb) writes it back: decimal digits without an exponent, with as
// many decimals as s has once its exponent is applied ("1.50e1" is "15.0",
// "1E+2" is "100", "12e-5" is "0.00012") and zero unsigned ("-0.0" is
// "0.0"). A value answered from memory and the same value read back from
// the database are then written alike. It is false when s is not a JSON
// number or its exponent is beyond ±MaxMetadataExponent.
func plainNumber(s string) (string, bool) {
	rest, neg := strings.CutPrefix(s, "-")
	mantissa, exponent, hasExponent := rest, "", false
	if i := strings.IndexAny(rest, "eE"); i >= 0 {
		mantissa, exponent, hasExponent = rest[:i], rest[i+1:], true
	}
	whole, fraction, hasPoint := strings.Cut(mantissa, ".")
	if !decimalDigits(whole) || (len(whole) > 1 && whole[0] == '0') || (hasPoint && !decimalDigits(fraction)) {
		return "", false
	}
	exp := 0
	if hasExponent {
		unsigned := strings.TrimLeft(exponent, "+-")
		e, err := strconv.Atoi(exponent)
		if err != nil || len(exponent)-len(unsigned) > 1 || !decimalDigits(unsigned) || e < -MaxMetadataExponent || e > MaxMetadataExponent {
			return "", false
		}
		exp = e
	}
	digits := whole + fraction
	point := len(whole) + exp // where the decimal point falls in digits
	scale := max(0, len(fraction)-exp)
	if point < 0 {
		digits, point = strings.Repeat("0", -point)+digits, 0
	}
	if point > len(digits) {
		digits += strings.Repeat("0", point-len(digits))
	}
	out := strings.TrimLeft(digits[:point], "0")
	if out == "" {
		out = "0"
	}
	if scale > 0 {
		out += "." + digits[point:]
	}
	if neg && strings.Trim(digits, "0") != "" {
		out = "-" + out
	}
	return out, true
}

// decimalDigits reports whether s is one or more of 0–9.
func decimalDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
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
