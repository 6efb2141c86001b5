"""Dashboard forms. Fields check shape; services check the rules (their field errors are
mapped back onto these fields by ``web.apply_form_errors``). Amounts are typed in major units
("49.99") as text and converted with ``services.money.to_minor`` in the view."""
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import ColorField, DateField, DateTimeLocalField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from services.coupons import MAX_USES
from web import PageForm

USES_MESSAGE = f"A whole number from 1 to {MAX_USES:,}; empty for no limit"
WARRANTY_UNITS = {"hours": 3600, "days": 86400}
DELIMITERS = {"newline": None, "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


class ProductForm(PageForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    slug = StringField("Slug", validators=[Optional(), Length(max=220)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=100_000)])
    category_id = SelectField("Category", choices=[SelectChoice("", "No category")])
    kind = SelectField("Kind", choices=[SelectChoice("digital", "Digital (codes, keys, accounts)"), SelectChoice("physical", "Physical (shipped)")])
    is_enabled = BooleanField("Visible in the shop", default=True)
    is_featured = BooleanField("Featured on the home page")
    replace_enabled = BooleanField("Customers may ask for a replacement", default=True)
    auto_replace_enabled = BooleanField("Replace automatically")
    auto_replace_max_before_approval = IntegerField(
        "Automatic replacements before approval", default=3,
        validators=[InputRequired(), NumberRange(min=0, max=1000)])
    warranty_amount = IntegerField("Warranty", default=1, validators=[InputRequired(), NumberRange(min=0, max=3650 * 24)])
    warranty_unit = SelectField("Warranty unit", choices=[SelectChoice("hours", "hours"), SelectChoice("days", "days")], default="days")

    def warranty_seconds(self) -> int:
        return int(self.warranty_amount.data) * WARRANTY_UNITS[self.warranty_unit.data]

    def show_warranty(self, seconds: int) -> None:
        if seconds and seconds % 86400 == 0:
            self.warranty_amount.data, self.warranty_unit.data = seconds // 86400, "days"
        else:
            self.warranty_amount.data, self.warranty_unit.data = round(seconds / 3600), "hours"


class ImageForm(PageForm):
    image = FileField("Image", validators=[FileRequired("Choose an image"),
                                           FileAllowed(["jpg", "jpeg", "png", "webp", "gif"], "JPEG, PNG, WebP or GIF only")])
    is_primary = BooleanField("Make it the main image")


class VariantForm(PageForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    price = StringField("Price", validators=[DataRequired(), Length(max=20)])
    sku = StringField("SKU", validators=[Optional(), Length(max=64)])
    min_quantity = IntegerField("Min per order", default=1, validators=[InputRequired()])
    max_quantity = IntegerField("Max per order", default=0, validators=[InputRequired()])
    stock_count = IntegerField("Inventory count", validators=[Optional()])
    is_active = BooleanField("On sale", default=True)


class StockImportForm(PageForm):
    raw_fields = ("deliverables",)  # services.stock refuses control characters with the line
    deliverables = TextAreaField("Paste deliverables", validators=[Optional()])
    file = FileField("…or upload a .txt / .csv file", validators=[FileAllowed(["txt", "csv"], "Upload a .txt or .csv file")])
    delimiter = SelectField("Split on", choices=[SelectChoice("newline", "New line"), SelectChoice("comma", "Comma ( , )"),
                                                 SelectChoice("semicolon", "Semicolon ( ; )"), SelectChoice("tab", "Tab"), SelectChoice("pipe", "Pipe ( | )")])
    mode = RadioField("Mode", choices=[SelectChoice("add", "Add to the current stock"),
                                       SelectChoice("set", "Replace all unsold stock with this list")], default="add")
    confirm_replace = BooleanField("Yes, withdraw every unsold item that is not in this list")
    note = StringField("Note", validators=[Optional(), Length(max=255)])
    supplier = StringField("Supplier", validators=[Optional(), Length(max=120)])
    unit_cost = StringField("Unit cost", validators=[Optional(), Length(max=20)])

    def validate_confirm_replace(self, field):
        if self.mode.data == "set" and not field.data:
            raise ValidationError("Confirm that the list replaces all unsold stock")


class CategoryForm(PageForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=120)])
    slug = StringField("Slug", validators=[Optional(), Length(max=140)])
    parent_id = SelectField("Parent", choices=[SelectChoice("", "None (top level)")])
    hex_code = ColorField("Colour", default="#6366f1")
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)])
    sort_order = IntegerField("Sort order", default=0, validators=[InputRequired(), NumberRange(min=-100_000, max=100_000)])
    is_active = BooleanField("Shown in the shop", default=True)


class AdminActionForm(PageForm):
    """A button that posts (approve, resend): only the CSRF token."""


class OrderStatusForm(PageForm):
    status = SelectField("New status", choices=[], validate_choice=False, validators=[DataRequired("Choose a status")])
    note = StringField("Note", validators=[Optional(), Length(max=200)])


class FulfillForm(PageForm):
    """Ship an order's physical items (``services.orders.fulfill``): carrier and tracking."""

    carrier = StringField("Carrier", validators=[DataRequired("Enter the carrier"), Length(max=60)])
    tracking_number = StringField("Tracking number", validators=[DataRequired("Enter the tracking number"),
                                                                 Length(max=120)])
    tracking_url = StringField("Tracking link (optional)", validators=[Optional(), Length(max=500)])


class GiftForm(PageForm):
    recipient = StringField("Recipient", validators=[Optional(), Length(max=254)])
    user_id = StringField(validators=[Optional(), Length(max=36)])
    variant_id = SelectField("Subcategory", choices=[], validate_choice=False, validators=[DataRequired("Choose what to give")])
    quantity = IntegerField("Quantity", default=1, validators=[InputRequired(), NumberRange(min=1, max=10_000)])
    note = TextAreaField("Note (shown to the recipient)", validators=[Optional(), Length(max=2000)])


class BalanceAdjustForm(PageForm):
    amount = StringField("Amount", validators=[DataRequired("Enter an amount such as 10.00 or -5.00"), Length(max=20)])
    reason = StringField("Reason", validators=[DataRequired("Say why the balance changes"), Length(max=255)])


class UserCreateForm(PageForm):
    username = StringField("Username", validators=[DataRequired("Choose a username"), Length(max=32)])
    email = StringField("Email", validators=[DataRequired("Enter an email address"), Length(max=254)])
    password = PasswordField("Password", validators=[Optional(), Length(max=128)])
    role = SelectField("Role", choices=[], validate_choice=False, default="USER")
    discount = StringField("Reseller discount (%)", validators=[Optional(), Length(max=10)])


class ResellerForm(PageForm):
    discount = StringField("Discount (%)", validators=[DataRequired("Enter a discount such as 15 or 12.5"),
                                                       Length(max=10)])


class RoleForm(PageForm):
    role = SelectField("New role", choices=[], validate_choice=False, validators=[DataRequired("Choose a role")])
    discount = StringField("Discount (%) for a reseller", validators=[Optional(), Length(max=10)])


class UserEditForm(PageForm):
    username = StringField("Username", validators=[DataRequired("Choose a username"), Length(max=32)])
    email = StringField("Email", validators=[DataRequired("Enter an email address"), Length(max=254)])
    note = TextAreaField("Note (only staff see it)", validators=[Optional(), Length(max=1000)])


class DeleteUserForm(PageForm):
    confirm = StringField("Type the username to confirm", validators=[DataRequired("Type the username to confirm"),
                                                                      Length(max=32)])


class BlacklistForm(PageForm):
    kind = SelectField("Kind", choices=[SelectChoice("ip", "IP address"), SelectChoice("email", "Email"),
                                        SelectChoice("username", "Username")])
    value = StringField("Value", validators=[DataRequired("Enter the address, email or username to block"),
                                             Length(max=254)])
    reason = StringField("Reason", validators=[Optional(), Length(max=255)])


# --- payments -------------------------------------------------------------------------------

class PaymentMethodForm(PageForm):
    """One method's Enable / Disable button on the payments page."""
    method = StringField(validators=[DataRequired(), Length(max=16)])
    enable = SelectField(choices=[SelectChoice("1", "Enable"), SelectChoice("0", "Disable")])


class PayoutForm(PageForm):
    amount = StringField("Amount", validators=[DataRequired("Enter an amount such as 50.00"), Length(max=20)])
    # made when the form is shown: a double click (or a resent form) is one payout
    request_key = HiddenField(validators=[DataRequired(), Length(max=64)])


class HoodpayForm(PageForm):
    """Blank keeps the saved value: a saved key or secret is never shown back."""
    api_key = PasswordField("API key", validators=[Optional(), Length(max=500)])
    business_id = StringField("Business id", validators=[Optional(), Length(max=500)])
    webhook_secret = PasswordField("Webhook secret", validators=[Optional(), Length(max=500)])


class TopupLimitsForm(PageForm):
    topup_min = StringField("Smallest top-up", validators=[DataRequired("Enter an amount such as 1.00"), Length(max=20)])
    topup_max = StringField("Largest top-up", validators=[DataRequired("Enter an amount such as 1000.00"), Length(max=20)])


class ManualInstructionsForm(PageForm):
    # checked by the service (StoreSettings), so the page says what the API says
    manual_payment_instructions = TextAreaField(
        "Manual payment instructions",
        description="What a shopper who chose manual payment is told: bank transfer details, a PayPal address... "
                    "Shown on the checkout, their order page and the order email. Empty: \"pay the store directly\".")


class RefundForm(PageForm):
    amount = StringField("Amount", validators=[Optional(), Length(max=20)])
    destination = SelectField("Refund to", choices=[SelectChoice("original", "Original payment"),
                                                    SelectChoice("balance", "Store balance")])
    reason = StringField("Reason", validators=[Optional(), Length(max=500)])


# --- replacements ---------------------------------------------------------------------------

class ApproveReplacementForm(PageForm):
    """One of the three options (radio buttons named stock_item_id), or an admin's own item."""
    stock_item_id = StringField(validators=[Optional(), Length(max=36)])
    custom_deliverable = TextAreaField("Custom deliverable (instead of an option)",
                                       validators=[Optional(), Length(max=2000)])


class DenyReplacementForm(PageForm):
    reason = StringField("Reason (the buyer sees it)", validators=[Optional(), Length(max=500)])


class ReviewEditForm(PageForm):
    rating = SelectField("Rating", choices=[SelectChoice(str(n), f"{n} ★") for n in range(5, 0, -1)],
                         validators=[InputRequired("Choose a rating")])
    text_review = TextAreaField("Text", validators=[Optional(), Length(max=2000)])


class CouponForm(PageForm):
    """A coupon (services.coupons checks the rules). ``value``: a percentage ("15", "12.5") or an
    amount in major units ("5.00"); dates are UTC."""

    code = StringField("Code", validators=[DataRequired(), Length(max=40)])
    kind = SelectField("Kind", choices=[SelectChoice("percent", "Percentage off"), SelectChoice("fixed", "Fixed amount off")])
    value = StringField("Value", validators=[DataRequired(), Length(max=20)])
    min_subtotal = StringField("Minimum subtotal", validators=[Optional(), Length(max=20)])
    max_uses = IntegerField("Uses in total", validators=[Optional(), NumberRange(min=1, max=MAX_USES, message=USES_MESSAGE)])
    max_uses_per_customer = IntegerField("Uses per customer",
                                         validators=[Optional(), NumberRange(min=1, max=MAX_USES, message=USES_MESSAGE)])
    starts_at = DateTimeLocalField("Starts (UTC)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()])
    ends_at = DateTimeLocalField("Ends (UTC)", format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"], validators=[Optional()])
    category_id = SelectField("Only for the category", choices=[SelectChoice("", "Any category")])
    is_active = BooleanField("Active", default=True)
    description = StringField("Note", validators=[Optional(), Length(max=255)])


# --- analytics and reports (GET forms: the page's address holds the choice) -------------------

PERIOD_CHOICES = [SelectChoice("7d", "Last 7 days"), SelectChoice("30d", "Last 30 days"),
                  SelectChoice("12m", "Last 12 months"), SelectChoice("custom", "Custom range")]


class PeriodForm(PageForm):
    class Meta:
        csrf = False  # read from the query string: nothing is written

    period = SelectField("Period", choices=PERIOD_CHOICES, default="30d")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.period.data == "custom":  # (Optional() ends a field's own validators when it is empty)
            for f, what in ((self.date_from, "first"), (self.date_to, "last")):
                if f.data is None and not f.errors:
                    f.errors = [*f.errors, f"Choose the {what} day of the range"]
                    valid = False
        return valid


class AnalyticsForm(PeriodForm):
    product_id = SelectField("Product", choices=[], default="")
    subcategory_id = SelectField("Subcategory", choices=[], default="")


class ReportsForm(PeriodForm):
    group_by = SelectField("Group sales by", choices=[SelectChoice("", "Automatic"), SelectChoice("day", "Day"),
                                                      SelectChoice("week", "Week"), SelectChoice("month", "Month")],
                           default="")
    sort_by = SelectField("Sort products by", choices=[SelectChoice("revenue", "Revenue"), SelectChoice("units", "Units"),
                                                       SelectChoice("orders", "Orders"), SelectChoice("profit", "Profit")],
                          default="revenue")


class CsvImportForm(PageForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file"),
                                             FileAllowed(["csv", "txt"], "Upload a .csv file")])
