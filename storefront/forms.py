"""Account forms. Fields check shape; services check the rules."""
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, StopValidation

from web import PageForm


class QuantityField(IntegerField):
    """A quantity: ``1.5`` or ``abc`` gets one plain sentence, not WTForms' "Not a valid integer
    value." followed by the range's message about a number that was never read."""

    def process_formdata(self, valuelist):
        if valuelist and not str(valuelist[0]).strip():  # nothing typed: InputRequired says so
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter a whole number") from exc

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class LoginForm(PageForm):
    login = StringField("Email or username", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("Keep me signed in")


class RegisterForm(PageForm):
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=32)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ")])


class ForgotForm(PageForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetForm(PageForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ")])


class ChangePasswordForm(PageForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("new_password", "The passwords differ")])


class ActionForm(PageForm):
    """A button that posts: only the CSRF token."""


class AddToCartForm(PageForm):
    variant_id = HiddenField(validators=[DataRequired(), Length(max=36)])
    quantity = QuantityField("Quantity", default=1, validators=[InputRequired("Enter a quantity"), NumberRange(min=1, max=2**31 - 1, message="Choose a quantity of 1 or more")])


class QuantityForm(PageForm):
    quantity = QuantityField("Quantity", validators=[InputRequired("Enter a quantity"), NumberRange(min=0, max=2**31 - 1, message="Enter a quantity of 0 or more (0 removes the item)")])


class CouponForm(PageForm):
    code = StringField("Coupon code", validators=[DataRequired("Enter a coupon code"), Length(max=40)])


class CheckoutForm(PageForm):
    """The checkout. A cart with physical items also shows where to ship (a saved address in
    ``address_id``, or "new" and the ``ship_*`` fields, checked by ``services.addresses``) and
    how (``shipping_method_id``); a digital cart leaves them empty."""

    payment_method = RadioField("Payment method", choices=[], validate_choice=False,
                                validators=[DataRequired("Choose how to pay")])
    email = EmailField("Email for your order", validators=[Optional(), Length(max=254)])
    note = TextAreaField("Note to the store (optional)", validators=[Optional(), Length(max=2000)])
    address_id = RadioField("Ship to", choices=[], validate_choice=False, validators=[Optional(), Length(max=36)])
    ship_name = StringField("Full name", validators=[Optional(), Length(max=120)])
    ship_company = StringField("Company (optional)", validators=[Optional(), Length(max=120)])
    ship_line1 = StringField("Address", validators=[Optional(), Length(max=200)])
    ship_line2 = StringField("Apartment, floor (optional)", validators=[Optional(), Length(max=200)])
    ship_city = StringField("City", validators=[Optional(), Length(max=120)])
    ship_region = StringField("State, province or region", validators=[Optional(), Length(max=120)])
    ship_postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    ship_country = SelectField("Country", choices=[], validate_choice=False, validators=[Optional(), Length(max=2)])
    ship_phone = StringField("Phone (optional)", validators=[Optional(), Length(max=32)])
    shipping_method_id = RadioField("Shipping method", choices=[], validate_choice=False,
                                    validators=[Optional(), Length(max=36)])
    customer_tax_number = StringField("Tax number for the invoice (optional)", validators=[Optional(), Length(max=32)])


class ReplaceForm(PageForm):
    stock_item_id = HiddenField(validators=[DataRequired(), Length(max=36)])
    reason = TextAreaField("What is wrong with it?", validators=[DataRequired("Say what is wrong with the item"),
                                                                  Length(max=1000)])


class TopUpForm(PageForm):
    amount = StringField("Amount", validators=[DataRequired("Enter an amount such as 20.00"), Length(max=20)])
    payment_method = RadioField("Pay with", choices=[], validate_choice=False,
                                validators=[DataRequired("Choose how to pay")])


class ChangeEmailForm(PageForm):
    email = EmailField("New email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])


class ReviewForm(PageForm):
    rating = RadioField("Your rating", choices=[SelectChoice(str(n), f"{n} star{'s' if n > 1 else ''}") for n in range(5, 0, -1)],
                        validators=[InputRequired("Choose a rating from 1 to 5 stars")])
    text_review = TextAreaField("Your review", validators=[Optional(), Length(max=2000)])
    anonymous = BooleanField("Post anonymously")


class PreferencesForm(PageForm):
    marketing_emails = BooleanField("Offers and news from the shop")
    product_news = BooleanField("Product news (new versions, restocks)")


class ProfileForm(PageForm):
    full_name = StringField("Full name", validators=[Optional(), Length(max=120)])
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=32)])
    phone = StringField("Phone", validators=[Optional(), Length(max=32)])
    locale = SelectField("Language", choices=[], validate_choice=False, validators=[Optional(), Length(max=16)])


class AddressForm(PageForm):
    name = StringField("Full name", validators=[DataRequired("Enter the recipient's name"), Length(max=120)])
    company = StringField("Company (optional)", validators=[Optional(), Length(max=120)])
    line1 = StringField("Address", validators=[DataRequired("Enter the street and number"), Length(max=200)])
    line2 = StringField("Apartment, floor (optional)", validators=[Optional(), Length(max=200)])
    city = StringField("City", validators=[Optional(), Length(max=120)])
    region = StringField("State, province or region", validators=[Optional(), Length(max=120)])
    postal_code = StringField("Postal code", validators=[Optional(), Length(max=20)])
    country = SelectField("Country", choices=[], validate_choice=False,
                          validators=[DataRequired("Choose a country"), Length(max=2)])
    phone = StringField("Phone (optional)", validators=[Optional(), Length(max=32)])
    is_default_shipping = BooleanField("Default shipping address")
    is_default_billing = BooleanField("Default billing address")


class DeleteAccountForm(PageForm):
    password = PasswordField("Your password", validators=[DataRequired("Enter your password"), Length(max=128)])
    confirm = BooleanField("I understand that my account and personal data are deleted for good",
                           validators=[DataRequired("Tick the box to confirm")])
