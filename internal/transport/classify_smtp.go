package transport

import (
	"regexp"
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// enhancedCodeRE matches an RFC 3463 code at the start of a reply line.
var enhancedCodeRE = regexp.MustCompile(`^([245]\.\d{1,3}\.\d{1,3})(?:\s+|$)`)

// parseReply splits a (possibly multi-line) reply text into its enhanced
// code and its text, with the code removed from every line and the lines
// joined by spaces.
func parseReply(msg string) (enhanced, text string) {
	lines := strings.Split(msg, "\n")
	for i, line := range lines {
		line = strings.TrimSpace(line)
		if m := enhancedCodeRE.FindStringSubmatch(line); m != nil {
			if enhanced == "" {
				enhanced = m[1]
			}
			line = line[len(m[0]):]
		}
		lines[i] = line
	}
	return enhanced, strings.TrimSpace(strings.Join(lines, " "))
}

// classifyReply fills f from an SMTP reply: its code, enhanced code and
// text, the category, the hint and what the worker does next.
func classifyReply(f *Failure, code int, msg string) {
	f.Code = code
	f.EnhancedCode, f.Message = parseReply(msg)
	lower := strings.ToLower(f.Message)
	temporary := code >= 400 && code < 500

	switch {
	case code == 535 || code == 534 ||
		(f.Step == StepAuth && code >= 500 && code != 530 && code != 538 && code != 523 && code != 504):
		f.set(outbox.CategoryAuthFailed, hintAuth)
	case code == 530 || code == 523 || code == 538:
		if code == 530 && !strings.Contains(lower, "tls") && strings.Contains(lower, "auth") {
			f.set(outbox.CategoryConfig, hintNeedsLogin)
		} else {
			f.set(outbox.CategoryConfig, hintStartTLS)
		}
	case f.Step == StepTLS:
		f.set(outbox.CategoryTLS, hintTLS)
		f.Temporary = temporary
	case f.Step == StepAuth && code == 504 || f.EnhancedCode == "5.7.4":
		f.set(outbox.CategoryConfig, hintMechanism)
	case isThrottle(code, f.EnhancedCode, lower):
		f.set(outbox.CategoryThrottled, hintThrottled)
		f.Throttled, f.Temporary = true, true
	case isTooBig(code, f.EnhancedCode):
		f.set(outbox.CategoryMessageRejected, hintTooBig)
		f.Temporary = temporary
	case temporary:
		f.set(stepCategory(f.Step), hintRetry)
		f.Temporary = true
	case f.Step == StepRcpt:
		switch {
		case isNoSuchUser(code, f.EnhancedCode, lower):
			f.set(outbox.CategoryRecipientRejected, hintNoSuchUser)
			f.NoSuchUser = true
		case strings.Contains(lower, "relay"):
			f.set(outbox.CategoryRecipientRejected, hintRelay)
		case f.EnhancedCode == "5.2.2":
			f.set(outbox.CategoryRecipientRejected, hintMailboxFull)
		default:
			f.set(outbox.CategoryRecipientRejected, hintRecipient)
		}
	case f.Step == StepData:
		f.set(outbox.CategoryMessageRejected, hintContent)
	case f.Step == StepMail:
		f.set(outbox.CategoryConfig, hintSender)
	case f.Step == StepEHLO || f.Step == StepConnect:
		f.set(outbox.CategoryConnection, hintBlocked)
	default:
		f.set(outbox.CategoryMessageRejected, "")
	}
}

// stepCategory is the category of a temporary (4xx) reply that is not
// throttling, by where it came.
func stepCategory(step string) outbox.ErrorCategory {
	switch step {
	case StepRcpt:
		return outbox.CategoryRecipientRejected
	case StepMail, StepData:
		return outbox.CategoryMessageRejected
	case StepAuth:
		return outbox.CategoryAuthFailed
	default:
		return outbox.CategoryConnection
	}
}

// throttlePhrases are reply texts providers use for sending limits. Mailbox
// quotas ("mailbox full", 5.2.2) are a recipient problem and are not here.
var throttlePhrases = []string{
	"daily limit", "sending limit", "rate limit", "sending quota", "quotaexceeded",
	"too many messages", "too many connections",
}

// isThrottle reports the replies that mean "slow down":
// 421, 450/451 with 4.7.x, 454, 5.4.5 / "daily limit" and kin.
func isThrottle(code int, enhanced, lower string) bool {
	switch {
	case code == 421, code == 454:
		return true
	case (code == 450 || code == 451) && strings.HasPrefix(enhanced, "4.7."):
		return true
	case enhanced == "5.4.5" || enhanced == "4.4.5":
		return true
	}
	for _, p := range throttlePhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}

// isTooBig reports size refusals: 5.3.4 and 5.2.3, or a bare 552 (RFC 5321
// "exceeded storage allocation"). 552 5.2.2 is a full mailbox instead.
func isTooBig(code int, enhanced string) bool {
	switch enhanced {
	case "5.3.4", "4.3.4", "5.2.3":
		return true
	case "":
		return code == 552
	}
	return false
}

var noSuchUserPhrases = []string{
	"no such user", "user unknown", "unknown user", "mailbox unavailable",
	"does not exist", "recipient not found", "no mailbox",
}

func isNoSuchUser(code int, enhanced, lower string) bool {
	if enhanced == "5.1.1" || enhanced == "5.1.10" {
		return true
	}
	if strings.HasPrefix(enhanced, "5.7.") || (code != 550 && code != 551 && code != 553) {
		return false
	}
	for _, p := range noSuchUserPhrases {
		if strings.Contains(lower, p) {
			return true
		}
	}
	return false
}
