"""Contact-volume capacity analysis: can the team answer what the contacts provoke?

Queueing theory for the collectors' follow-up work lives here, so simulated waits can be checked against
it: Erlang C gives the mean wait of queries arriving as a Poisson stream, answered first come first served
by c collectors with exponential handling times, around the clock.
"""

from __future__ import annotations

import math


def erlang_c_probability_of_wait(*, servers: int, offered_load: float) -> float:
    """Erlang C: the chance an arrival has to wait, for c servers and offered load a = arrival rate / service rate."""
    if offered_load >= servers:
        return 1.0
    term = 1.0
    below = 1.0  # sum of a^k / k! for k < c, built up without large factorials
    for k in range(1, servers):
        term *= offered_load / k
        below += term
    top = term * offered_load / servers * servers / (servers - offered_load)
    return top / (below + top)


def erlang_c_mean_wait(*, servers: int, arrival_rate: float, service_rate: float) -> float:
    """Mean time in queue (before service starts) of an M/M/c queue, in the time unit of the rates."""
    if arrival_rate >= servers * service_rate:
        return math.inf
    waiting = erlang_c_probability_of_wait(servers=servers, offered_load=arrival_rate / service_rate)
    return waiting / (servers * service_rate - arrival_rate)
