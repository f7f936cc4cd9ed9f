package templates

import (
	"maps"
	"slices"

	"github.com/outbox/outbox/internal/outbox"
)

// The variables every template can use besides those of the send. A send's
// own variables of the same name win, so a marketplace can name the vendor
// shop of one message.
const (
	// VarShopName is the tenant's display name (the From name of its
	// settings), or the tenant's name when it has none.
	VarShopName = "shopName"
	// VarContactEmail is the tenant's contact address, or its reply-to
	// address, or its own From address; "" when it has none of them.
	VarContactEmail = "contactEmail"
)

// The event keys with built-in templates.
const (
	KeyOrderConfirmed  = "order.confirmed"
	KeyOrderShipped    = "order.shipped"
	KeyVendorNewOrder  = "vendor.new_order"
	KeyContactReceived = "contact.received"
	KeyPasswordReset   = "password.reset"
)

// builtIn is a built-in template with what its variables are.
type builtIn struct {
	Template
	// optional are variables the template can do without, with the value
	// they take when a send leaves them out (so {{if .x}} and {{range .x}}
	// work without them).
	optional map[string]any
	// sample are the variables a preview uses.
	sample map[string]any
}

// BuiltIns returns the built-in templates, sorted by key.
func BuiltIns() []Template {
	out := make([]Template, 0, len(builtIns))
	for _, key := range slices.Sorted(maps.Keys(builtIns)) {
		out = append(out, builtIns[key].Template)
	}
	return out
}

// BuiltIn returns the built-in template of key, and false when key has none.
func BuiltIn(key string) (Template, bool) {
	b, ok := builtIns[key]
	return b.Template, ok
}

// SampleVariables returns example variables for previewing the template of
// key (empty for a key without a built-in template), shop variables
// excluded. The map is the caller's.
func SampleVariables(key string) map[string]any {
	return maps.Clone(builtIns[key].sample)
}

// Variables builds the data of one rendering: the optional variables of
// key's built-in template (if any) at their defaults, then shop, then the
// send's own vars, each overriding the one before.
func Variables(key string, shop Shop, vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+8)
	maps.Copy(out, builtIns[key].optional)
	out[VarShopName] = shop.Name
	out[VarContactEmail] = shop.ContactEmail
	maps.Copy(out, vars)
	return out
}

// Shop is what every template knows about the tenant.
type Shop struct {
	Name         string
	ContactEmail string
}

var (
	sampleItems = []any{
		map[string]any{"name": "Ceramic mug, indigo", "quantity": 2, "price": "¥3,300"},
		map[string]any{"name": "Linen tea towel", "quantity": 1, "price": "¥1,650"},
	}
	noItems = []any{}
)

var builtIns = map[string]builtIn{
	KeyOrderConfirmed: {
		Template: Template{
			Key:      KeyOrderConfirmed,
			BuiltIn:  true,
			Category: outbox.CategoryTransactional,
			Subject:  `Order {{.orderNumber}} confirmed – {{.shopName}}`,
			Text: `Hello {{.customerName}},

thank you for your order {{.orderNumber}} at {{.shopName}}. We have received it and are getting it ready.
{{range .items}}
- {{.name}} × {{.quantity}}   {{.price}}{{end}}

Total: {{.total}}
{{with .orderUrl}}
Your order: {{.}}
{{end}}{{with .contactEmail}}
Questions? Write to {{.}}.
{{end}}
{{.shopName}}
`,
			HTML: `<p>Hello {{.customerName}},</p>
<p>thank you for your order <strong>{{.orderNumber}}</strong> at {{.shopName}}. We have received it and are getting it ready.</p>
{{if .items}}<table cellpadding="4">
{{range .items}}<tr><td>{{.name}}</td><td>× {{.quantity}}</td><td align="right">{{.price}}</td></tr>
{{end}}</table>
{{end}}<p><strong>Total: {{.total}}</strong></p>
{{with .orderUrl}}<p><a href="{{.}}">View your order</a></p>
{{end}}{{with .contactEmail}}<p>Questions? Write to <a href="mailto:{{.}}">{{.}}</a>.</p>
{{end}}<p>{{.shopName}}</p>
`,
		},
		optional: map[string]any{"items": noItems, "orderUrl": ""},
		sample: map[string]any{
			"customerName": "Hanako Yamada", "orderNumber": "1042", "items": sampleItems,
			"total": "¥8,250", "orderUrl": "https://shop.example.com/orders/1042",
		},
	},
	KeyOrderShipped: {
		Template: Template{
			Key:      KeyOrderShipped,
			BuiltIn:  true,
			Category: outbox.CategoryTransactional,
			Subject:  `Your order {{.orderNumber}} is on its way – {{.shopName}}`,
			Text: `Hello {{.customerName}},

good news: your order {{.orderNumber}} has shipped{{with .carrier}} with {{.}}{{end}}.
{{with .trackingNumber}}
Tracking number: {{.}}{{end}}{{with .trackingUrl}}
Track it here: {{.}}{{end}}
{{with .contactEmail}}
Questions? Write to {{.}}.
{{end}}
{{.shopName}}
`,
			HTML: `<p>Hello {{.customerName}},</p>
<p>good news: your order <strong>{{.orderNumber}}</strong> has shipped{{with .carrier}} with {{.}}{{end}}.</p>
{{with .trackingNumber}}<p>Tracking number: {{.}}</p>
{{end}}{{with .trackingUrl}}<p><a href="{{.}}">Track your parcel</a></p>
{{end}}{{with .contactEmail}}<p>Questions? Write to <a href="mailto:{{.}}">{{.}}</a>.</p>
{{end}}<p>{{.shopName}}</p>
`,
		},
		optional: map[string]any{"carrier": "", "trackingNumber": "", "trackingUrl": ""},
		sample: map[string]any{
			"customerName": "Hanako Yamada", "orderNumber": "1042", "carrier": "Yamato Transport",
			"trackingNumber": "4201-2345-6789", "trackingUrl": "https://track.example.com/4201-2345-6789",
		},
	},
	KeyVendorNewOrder: {
		Template: Template{
			Key:      KeyVendorNewOrder,
			BuiltIn:  true,
			Category: outbox.CategoryTransactional,
			Subject:  `New order {{.orderNumber}} for {{.vendorName}} – {{.shopName}}`,
			Text: `Hello {{.vendorName}},

you have a new order on {{.shopName}}: {{.orderNumber}}{{with .customerName}}, from {{.}}{{end}}.
{{range .items}}
- {{.name}} × {{.quantity}}   {{.price}}{{end}}

Total: {{.total}}
{{with .orderUrl}}
Open the order: {{.}}
{{end}}
Please ship it soon.

{{.shopName}}
`,
			HTML: `<p>Hello {{.vendorName}},</p>
<p>you have a new order on {{.shopName}}: <strong>{{.orderNumber}}</strong>{{with .customerName}}, from {{.}}{{end}}.</p>
{{if .items}}<table cellpadding="4">
{{range .items}}<tr><td>{{.name}}</td><td>× {{.quantity}}</td><td align="right">{{.price}}</td></tr>
{{end}}</table>
{{end}}<p><strong>Total: {{.total}}</strong></p>
{{with .orderUrl}}<p><a href="{{.}}">Open the order</a></p>
{{end}}<p>Please ship it soon.</p>
<p>{{.shopName}}</p>
`,
		},
		optional: map[string]any{"customerName": "", "items": noItems, "orderUrl": ""},
		sample: map[string]any{
			"vendorName": "Kobo Pottery", "orderNumber": "1042", "customerName": "Hanako Yamada",
			"items": sampleItems, "total": "¥8,250", "orderUrl": "https://shop.example.com/vendor/orders/1042",
		},
	},
	KeyContactReceived: {
		Template: Template{
			Key:      KeyContactReceived,
			BuiltIn:  true,
			Category: outbox.CategoryTransactional,
			Subject:  `We received your message – {{.shopName}}`,
			Text: `Hello {{.name}},

thank you for contacting {{.shopName}}. We have received your message and will answer soon.

Your message:
{{.message}}
{{with .contactEmail}}
You can also reach us at {{.}}.
{{end}}
{{.shopName}}
`,
			HTML: `<p>Hello {{.name}},</p>
<p>thank you for contacting {{.shopName}}. We have received your message and will answer soon.</p>
<p>Your message:</p>
<blockquote style="white-space: pre-wrap">{{.message}}</blockquote>
{{with .contactEmail}}<p>You can also reach us at <a href="mailto:{{.}}">{{.}}</a>.</p>
{{end}}<p>{{.shopName}}</p>
`,
		},
		sample: map[string]any{
			"name":    "Taro Suzuki",
			"message": "Hello, do you ship to Osaka on weekends?\nThank you!",
		},
	},
	KeyPasswordReset: {
		Template: Template{
			Key:      KeyPasswordReset,
			BuiltIn:  true,
			Category: outbox.CategoryTransactional,
			Subject:  `Reset your password – {{.shopName}}`,
			Text: `Hello{{with .name}} {{.}}{{end}},

someone asked to reset the password of your {{.shopName}} account. To choose a new one, open this link{{with .expiresIn}} within {{.}}{{end}}:

{{.resetUrl}}

If it was not you, ignore this message: your password stays as it is.

{{.shopName}}
`,
			HTML: `<p>Hello{{with .name}} {{.}}{{end}},</p>
<p>someone asked to reset the password of your {{.shopName}} account. To choose a new one, open this link{{with .expiresIn}} within {{.}}{{end}}:</p>
<p><a href="{{.resetUrl}}">Reset your password</a></p>
<p>If it was not you, ignore this message: your password stays as it is.</p>
<p>{{.shopName}}</p>
`,
		},
		optional: map[string]any{"name": "", "expiresIn": ""},
		sample: map[string]any{
			"name": "Hanako", "resetUrl": "https://shop.example.com/reset?token=sample", "expiresIn": "1 hour",
		},
	},
}
