"""Inicialización de parámetros con ``net.apply``.

ES: Cada función de este archivo recibe un módulo ``m`` y no devuelve nada.
Se usa con ``net.apply(f)``, que llama a ``f`` sobre cada submódulo de ``net``
(y sobre ``net`` mismo). Reglas comunes a las cinco funciones:

- Solo actúan sobre módulos ``nn.Linear``. Cualquier otro módulo
  (``nn.ReLU``, ``nn.Sequential``, ``nn.Conv2d``, …) se deja intacto y sin
  errores.
- Funcionan con ``nn.Linear(..., bias=False)``, cuyo ``m.bias`` es ``None``.
- Cambian los valores *en el sitio* (in place): con las funciones de
  ``nn.init`` (``nn.init.normal_``, ``nn.init.zeros_``,
  ``nn.init.constant_``, ``nn.init.xavier_uniform_``, ``nn.init.uniform_``)
  o con operaciones in place dentro de ``with torch.no_grad():``. No crees
  parámetros nuevos (``m.weight = nn.Parameter(...)`` está mal): un
  optimizador creado antes debe seguir viendo los mismos objetos, y estos
  deben conservar ``requires_grad``.

Rellena cada ``# TODO`` y borra la línea ``raise NotImplementedError(...)``
que hay debajo. No cambies los nombres de las funciones.

EN: Parameter initialisation with ``net.apply``. Every function in this file
takes a module ``m`` and returns nothing. It is used as ``net.apply(f)``,
which calls ``f`` on every submodule of ``net`` (and on ``net`` itself). Rules
shared by the five functions:

- They act on ``nn.Linear`` modules only. Any other module (``nn.ReLU``,
  ``nn.Sequential``, ``nn.Conv2d``, …) is left untouched, without errors.
- They work on ``nn.Linear(..., bias=False)``, whose ``m.bias`` is ``None``.
- They change values *in place*: with the ``nn.init`` functions
  (``nn.init.normal_``, ``nn.init.zeros_``, ``nn.init.constant_``,
  ``nn.init.xavier_uniform_``, ``nn.init.uniform_``) or with in-place
  operations inside ``with torch.no_grad():``. Do not create new parameters
  (``m.weight = nn.Parameter(...)`` is wrong): an optimizer built earlier must
  still see the same objects, and they must keep ``requires_grad``.

Fill in every ``# TODO`` and delete the ``raise NotImplementedError(...)``
line below it. Do not rename the functions.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import torch  # noqa: F401  (para/for torch.no_grad)
from torch import nn
from torch.nn import functional as F  # noqa: F401  (por si lo necesitas / in case you need it)


def init_normal(m: nn.Module) -> None:
    """Ejercicio ``init_normal`` / Exercise ``init_normal``.

    ES: Si ``m`` es un ``nn.Linear``: pesos de una normal con media 0 y
    desviación típica 0.01; sesgo (si existe) a cero.

    EN: If ``m`` is an ``nn.Linear``: weights from a normal distribution with
    mean 0 and standard deviation 0.01; bias (if any) set to zero.
    """
    # TODO: if isinstance(m, nn.Linear): ...
    raise NotImplementedError(
        "TODO: init_normal: pesos N(0, 0.01^2), sesgo 0 / weights N(0, 0.01^2), bias 0"
    )


def init_constant(m: nn.Module) -> None:
    """Ejercicio ``init_constant`` / Exercise ``init_constant``.

    ES: Si ``m`` es un ``nn.Linear``: todos los pesos a 1; sesgo (si existe)
    a cero.

    EN: If ``m`` is an ``nn.Linear``: every weight set to 1; bias (if any) set
    to zero.
    """
    # TODO: if isinstance(m, nn.Linear): ...
    raise NotImplementedError("TODO: init_constant: pesos 1, sesgo 0 / weights 1, bias 0")


def init_xavier(m: nn.Module) -> None:
    """Ejercicio ``init_xavier`` / Exercise ``init_xavier``.

    ES: Si ``m`` es un ``nn.Linear``: pesos con la inicialización de Xavier
    uniforme, U(-a, a) con ``a = sqrt(6 / (fan_in + fan_out))``, donde
    ``fan_in = m.in_features`` y ``fan_out = m.out_features``
    (``nn.init.xavier_uniform_``). El sesgo no se toca.

    EN: If ``m`` is an ``nn.Linear``: weights with Xavier uniform
    initialisation, U(-a, a) with ``a = sqrt(6 / (fan_in + fan_out))``, where
    ``fan_in = m.in_features`` and ``fan_out = m.out_features``
    (``nn.init.xavier_uniform_``). The bias is left unchanged.
    """
    # TODO: if isinstance(m, nn.Linear): ...
    raise NotImplementedError("TODO: init_xavier: pesos Xavier uniforme / Xavier-uniform weights")


def init_42(m: nn.Module) -> None:
    """Ejercicio ``init_42`` / Exercise ``init_42``.

    ES: Si ``m`` es un ``nn.Linear``: todos los pesos a 42. El sesgo no se
    toca.

    EN: If ``m`` is an ``nn.Linear``: every weight set to 42. The bias is left
    unchanged.
    """
    # TODO: if isinstance(m, nn.Linear): ...
    raise NotImplementedError("TODO: init_42: pesos 42 / weights 42")


def my_init(m: nn.Module) -> None:
    """Ejercicio ``my_init`` / Exercise ``my_init``.

    ES: Si ``m`` es un ``nn.Linear``: cada peso, de forma independiente, sale
    de esta distribución:

    - U(5, 10) con probabilidad 1/4,
    - 0 con probabilidad 1/2,
    - U(-10, -5) con probabilidad 1/4.

    El sesgo no se toca. Pista: si sacas los pesos de U(-10, 10) y pones a
    cero los que cumplen ``|w| < 5`` obtienes exactamente esa distribución.
    Haz el segundo paso dentro de ``with torch.no_grad():`` y en el sitio
    (por ejemplo ``m.weight *= ...``).

    EN: If ``m`` is an ``nn.Linear``: each weight is drawn independently from
    this distribution:

    - U(5, 10) with probability 1/4,
    - 0 with probability 1/2,
    - U(-10, -5) with probability 1/4.

    The bias is left unchanged. Hint: drawing the weights from U(-10, 10) and
    zeroing those with ``|w| < 5`` gives exactly that distribution. Do the
    second step inside ``with torch.no_grad():`` and in place (for example
    ``m.weight *= ...``).
    """
    # TODO: if isinstance(m, nn.Linear): ...
    raise NotImplementedError(
        "TODO: my_init: U(-10, 10) y anula |w| < 5 / U(-10, 10), then zero |w| < 5"
    )
