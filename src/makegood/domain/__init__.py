"""The domain core: pure Python, standard library only.

Time windows, incidents, accounts, policies and their rule kinds, money, and the per-account
compensation that is the reference semantics for every engine. Nothing here imports a web
framework, a database driver or a dataframe engine; a test proves it.
"""
