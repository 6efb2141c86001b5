"""Account forms. Fields check shape; services check the rules."""
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional


class LoginForm(FlaskForm):
    login = StringField("Email or username", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("Keep me signed in")


class RegisterForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(min=3, max=32)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ")])


class ForgotForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("password", "The passwords differ")])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=8, max=128)])
    confirm = PasswordField("Repeat new password", validators=[DataRequired(), EqualTo("new_password", "The passwords differ")])


class ActionForm(FlaskForm):
    """A button that posts: only the CSRF token."""


class AddToCartForm(FlaskForm):
    variant_id = HiddenField(validators=[DataRequired(), Length(max=36)])
    quantity = IntegerField("Quantity", default=1, validators=[InputRequired("Enter a quantity"), NumberRange(min=1, max=2**31 - 1)])


class QuantityForm(FlaskForm):
    quantity = IntegerField("Quantity", validators=[InputRequired("Enter a quantity"), NumberRange(min=0, max=2**31 - 1)])


class CouponForm(FlaskForm):
    code = StringField("Coupon code", validators=[DataRequired("Enter a coupon code"), Length(max=40)])


class CheckoutForm(FlaskForm):
    payment_method = RadioField("Payment method", choices=[], validate_choice=False,
                                validators=[DataRequired("Choose how to pay")])
    email = EmailField("Email for your order", validators=[Optional(), Length(max=254)])
    note = TextAreaField("Note to the store (optional)", validators=[Optional(), Length(max=2000)])


class ChangeEmailForm(FlaskForm):
    email = EmailField("New email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Current password", validators=[DataRequired(), Length(max=128)])
