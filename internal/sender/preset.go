package sender

import (
	"strings"

	"github.com/outbox/outbox/internal/outbox"
)

// PresetCustom is the key of the preset for any SMTP server without a preset
// of its own: it fills nothing but sensible defaults and carries no limits.
const PresetCustom = "custom"

// Preset describes an SMTP provider: what to fill into the SMTP form and the
// sending limits the delivery worker enforces for accounts at that provider
// Presets are the source of the providerPresets query.
type Preset struct {
	// Key identifies the preset in SmtpInput.preset, e.g. "gmail".
	Key string
	// Name is the provider's name as shown to a shop owner.
	Name string
	// Host is the SMTP host; empty where it varies per account.
	Host string
	// HostPattern is shown where the host varies per account, e.g.
	// "sv****.xserver.jp"; empty when Host is set.
	HostPattern string
	// Port, Security and Auth are what the provider expects for submission.
	Port     int
	Security outbox.SMTPSecurity
	Auth     outbox.SMTPAuth
	// Username is the fixed user name some providers require (SendGrid's
	// "apikey"); empty where the user name is the tenant's own.
	Username string
	// Limits are the provider's sending limits; zero fields are unlimited.
	Limits Limits
	// Note is a hint for the form, e.g. that an app password is needed.
	Note string
	// OAuthProvider is the provider to connect with (startOAuthConnection)
	// for XOAUTH2, offered before a password; "" where there is none.
	OAuthProvider outbox.OAuthProvider
	// LimitsConfigurable says that the provider's limits differ per account
	// (Amazon SES raises quotas on request), so a tenant may set limits above
	// the preset's defaults. For every other preset a tenant may only lower
	// them.
	LimitsConfigurable bool
}

// Presets returns every provider preset in the order the form lists them,
// ending with the custom one. The slice is the caller's to keep or change.
func Presets() []Preset {
	const (
		startTLS = outbox.SecurityStartTLS
		plain    = outbox.AuthPlain
		google   = "Connect with Google (startOAuthConnection, provider GOOGLE) and test with auth XOAUTH2 and that connection: no password is stored. " +
			"Without OAuth: auth PLAIN with an app password (needs 2-step verification; the account password is refused)."
		jpNote = "User name is the full email address. Sending limits depend on your plan: set them here if you know them."
	)
	return []Preset{
		{
			Key: "gmail", Name: "Gmail", Host: "smtp.gmail.com", Port: 587, Security: startTLS, Auth: outbox.AuthXOAuth2,
			Limits: Limits{PerDay: 500, RecipientsPerMessage: 100}, OAuthProvider: outbox.OAuthGoogle,
			Note: google + " Gmail allows about 500 messages a day.",
		},
		{
			Key: "google_workspace", Name: "Google Workspace", Host: "smtp.gmail.com", Port: 587, Security: startTLS, Auth: outbox.AuthXOAuth2,
			Limits: Limits{PerDay: 2000, RecipientsPerDay: 10000, RecipientsPerMessage: 100}, OAuthProvider: outbox.OAuthGoogle,
			Note: google + " The From address must be the account's own address or one of its aliases.",
		},
		{
			Key: "microsoft365", Name: "Microsoft 365", Host: "smtp.office365.com", Port: 587, Security: startTLS, Auth: outbox.AuthXOAuth2,
			Limits: Limits{PerMinute: 30, RecipientsPerDay: 10000, RecipientsPerMessage: 500}, OAuthProvider: outbox.OAuthMicrosoft,
			Note: "Connect with Microsoft (startOAuthConnection, provider MICROSOFT) and test with auth XOAUTH2 and that connection. " +
				"Microsoft retires basic SMTP AUTH (passwords and app passwords) for Exchange Online at the end of December 2026; until then auth LOGIN with an app password still works. " +
				"Either way SMTP AUTH must be enabled for the mailbox in the Microsoft 365 admin center.",
		},
		{
			Key: "yahoo", Name: "Yahoo Mail", Host: "smtp.mail.yahoo.com", Port: 465, Security: outbox.SecurityImplicitTLS, Auth: plain,
			// Yahoo publishes no figures; these are the commonly observed
			// ceilings past which it starts refusing mail from an account.
			Limits: Limits{PerDay: 500, RecipientsPerMessage: 100},
			Note:   "Needs an app password (Account security → Generate app password). Yahoo publishes no sending limits; about 500 messages a day is safe.",
		},
		{
			Key: "amazon_ses", Name: "Amazon SES", HostPattern: "email-smtp.<region>.amazonaws.com", Port: 587, Security: startTLS, Auth: plain,
			Limits: Limits{PerSecond: 14, PerDay: 50000},
			Note: "Use SMTP credentials created in the SES console, not your AWS access key. Set the rate and daily quota to your account's " +
				"(a new account in the sandbox may send 1 message a second, 200 a day).",
			LimitsConfigurable: true,
		},
		{
			Key: "sendgrid", Name: "SendGrid", Host: "smtp.sendgrid.net", Port: 587, Security: startTLS, Auth: plain,
			Username: "apikey",
			Note:     `User name is the word "apikey"; the password is an API key with Mail Send permission.`,
		},
		{
			Key: "mailgun", Name: "Mailgun", Host: "smtp.mailgun.org", Port: 587, Security: startTLS, Auth: plain,
			Limits: Limits{RecipientsPerMessage: 1000},
			Note:   "Use the domain's SMTP credentials. Domains in the EU region use smtp.eu.mailgun.org.",
		},
		{
			Key: "postmark", Name: "Postmark", Host: "smtp.postmarkapp.com", Port: 587, Security: startTLS, Auth: plain,
			Limits: Limits{RecipientsPerMessage: 50},
			Note:   "Use your Server API Token as both user name and password. The From address must be a verified sender signature.",
		},
		{
			Key: "sakura", Name: "さくらのレンタルサーバ (Sakura)", HostPattern: "<account>.sakura.ne.jp", Port: 587, Security: startTLS, Auth: plain,
			Note: "Host is your initial domain, <account>.sakura.ne.jp. " + jpNote,
		},
		{
			Key: "xserver", Name: "エックスサーバー (Xserver)", HostPattern: "sv****.xserver.jp", Port: 587, Security: startTLS, Auth: plain,
			Note: "Host is your server number, as in the server panel (sv****.xserver.jp). " + jpNote,
		},
		{
			Key: "lolipop", Name: "ロリポップ！ (Lolipop)", Host: "smtp.lolipop.jp", Port: 587, Security: startTLS, Auth: plain,
			Note: jpNote,
		},
		{
			Key: "muumuu", Name: "ムームーメール (Muumuu Mail)", Host: "smtp.muumuu-mail.com", Port: 587, Security: startTLS, Auth: plain,
			Note: jpNote,
		},
		{
			Key: "onamae", Name: "お名前メール (Onamae.com)", HostPattern: "mail*.onamae.ne.jp", Port: 587, Security: startTLS, Auth: plain,
			Note: "Host is the mail server shown in your Onamae.com mail settings (mail*.onamae.ne.jp). " + jpNote,
		},
		{
			Key: PresetCustom, Name: "Other SMTP server", Port: 587, Security: startTLS, Auth: plain,
			Note: "Enter the settings your mail provider gives you.",
		},
	}
}

// PresetByKey returns the preset with the given key, matched case-insensitively
// ("CUSTOM" finds the custom preset), and false when there is none.
func PresetByKey(key string) (Preset, bool) {
	for _, p := range Presets() {
		if strings.EqualFold(p.Key, key) {
			return p, true
		}
	}
	return Preset{}, false
}

// EffectiveLimits returns the limits that apply to an account using preset
// when the tenant asked for requested: a zero requested field takes the
// preset's value, and a non-zero one applies as long as it does not exceed
// the preset's (a zero preset field has no ceiling). A tenant may lower a
// preset's limits, never raise them — except for a preset whose
// LimitsConfigurable is set, where requested values replace the defaults.
// It returns an outbox.EINVALID error on "smtp.limits.<name>" for a negative
// value or one above the preset's limit.
func EffectiveLimits(preset Preset, requested Limits) (Limits, error) {
	return effectiveLimits("smtp.limits", preset.Name, preset.Limits, preset.LimitsConfigurable, requested)
}

// EffectiveHTTPLimits is EffectiveLimits for an HTTP mail API: the
// provider's limits, lowered (or, where LimitsConfigurable, replaced) by
// the tenant's. Errors are on "http.limits.<name>".
func EffectiveHTTPLimits(preset HTTPPreset, requested Limits) (Limits, error) {
	return effectiveLimits("http.limits", preset.Name, preset.Limits, preset.LimitsConfigurable, requested)
}

func effectiveLimits(field, name string, base Limits, configurable bool, requested Limits) (Limits, error) {
	if err := checkLimits(field, requested); err != nil {
		return Limits{}, err
	}
	out := base
	have := limitFields(&base)
	for i, f := range limitFields(&requested) {
		ceiling := *have[i].value
		switch want := *f.value; {
		case want == 0:
		case ceiling != 0 && want > ceiling && !configurable:
			return Limits{}, outbox.Invalid(field+"."+f.name, "must be at most %d for %s", ceiling, name)
		default:
			*limitFields(&out)[i].value = want
		}
	}
	return out, nil
}

// checkLimits rejects negative limits; field prefixes the limit's name.
func checkLimits(field string, l Limits) error {
	for _, f := range limitFields(&l) {
		if *f.value < 0 {
			return outbox.Invalid(field+"."+f.name, "must not be negative (0 means no limit)")
		}
	}
	return nil
}

// limitField is one field of Limits with its GraphQL name.
type limitField struct {
	name  string
	value *int
}

// limitFields lists the fields of l in a fixed order, so that code handling
// every limit (validation, EffectiveLimits, Fingerprint) cannot miss one.
func limitFields(l *Limits) []limitField {
	return []limitField{
		{"perSecond", &l.PerSecond},
		{"perMinute", &l.PerMinute},
		{"perHour", &l.PerHour},
		{"perDay", &l.PerDay},
		{"recipientsPerDay", &l.RecipientsPerDay},
		{"recipientsPerMessage", &l.RecipientsPerMessage},
	}
}
