"""Small fakes of outside providers (Stripe, Hoodpay) on 127.0.0.1, for tests and local trials."""
