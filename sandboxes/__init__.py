"""Stand-ins for the external parties the OMS talks to: a parcel carrier (``carrier``), a
payment provider (``payments``), a mail relay (``smtp_sink``) and a warehouse's scanner app
(``warehouse``).

``make run``, the tests, the benchmark and the chaos suite use them so the OMS can be tried
and tested without real partners. None of them is part of the OMS: a production worker uses
one only where it is configured to (today the worker still builds the sandbox payment
provider; the carrier and the mail relay are reached by URL and host, so production points
those at real services).
"""
