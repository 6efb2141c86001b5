"""Outside systems, one module each (the only place its SDK or HTTP shape lives).

``base`` is the small interface every payment provider speaks; ``stripe`` and ``hoodpay`` sit
behind it. Nothing here imports the app's services or models: services build a provider for a
store (keys, account) and call it.
"""
