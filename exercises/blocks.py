"""Bloques propios con ``nn.Module``.

ES: En este archivo escribes tres bloques: subclases de ``nn.Module``. Un
bloque hace dos cosas:

1. En ``__init__`` llama primero a ``super().__init__()`` y después crea y
   registra sus submódulos, parámetros y buffers.
2. En ``forward(X)`` calcula la salida a partir de la entrada ``X``.

Rellena cada ``# TODO`` y borra la línea ``raise NotImplementedError(...)``
que hay debajo. No cambies los nombres de las clases ni de los atributos: el
corrector los usa.

EN: Custom blocks with ``nn.Module``. In this file you write three blocks,
i.e. subclasses of ``nn.Module``. A block does two things:

1. In ``__init__`` it first calls ``super().__init__()`` and then creates and
   registers its submodules, parameters and buffers.
2. In ``forward(X)`` it computes the output from the input ``X``.

Fill in every ``# TODO`` and delete the ``raise NotImplementedError(...)``
line below it. Do not rename the classes or the attributes: the grader uses
them.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import torch
from torch import nn
from torch.nn import functional as F  # noqa: F401  (para/for F.relu)


class MLP(nn.Module):
    """Ejercicio ``mlp`` / Exercise ``mlp``.

    ES: Perceptrón multicapa con una capa oculta de 256 unidades.

    - ``__init__()`` (sin argumentos): crea exactamente dos capas con
      parámetros, guardadas en atributos con estos nombres:
      ``self.hidden = nn.Linear(20, 256)`` y ``self.out = nn.Linear(256, 10)``.
      Puedes añadir módulos sin parámetros, como ``self.act = nn.ReLU()``,
      pero ninguna otra capa con parámetros.
    - ``forward(X)``: devuelve ``out(relu(hidden(X)))``.
      ``X`` tiene forma ``(n, 20)``; la salida, forma ``(n, 10)``.

    Las claves de ``state_dict()`` deben ser exactamente ``hidden.weight``,
    ``hidden.bias``, ``out.weight`` y ``out.bias``.

    Idea practicada: al asignar un ``nn.Module`` a un atributo (``self.hidden
    = ...``) queda registrado como submódulo, así que sus parámetros aparecen
    en ``parameters()`` y en ``state_dict()``, y ``.to(device)`` los mueve.

    EN: Multilayer perceptron with one hidden layer of 256 units.

    - ``__init__()`` (no arguments): create exactly two layers with
      parameters, stored in attributes with these names:
      ``self.hidden = nn.Linear(20, 256)`` and ``self.out = nn.Linear(256, 10)``.
      You may add parameter-free modules such as ``self.act = nn.ReLU()``, but
      no other layer with parameters.
    - ``forward(X)``: return ``out(relu(hidden(X)))``.
      ``X`` has shape ``(n, 20)``; the output has shape ``(n, 10)``.

    The ``state_dict()`` keys must be exactly ``hidden.weight``,
    ``hidden.bias``, ``out.weight`` and ``out.bias``.

    Idea practised: assigning an ``nn.Module`` to an attribute (``self.hidden
    = ...``) registers it as a submodule, so its parameters show up in
    ``parameters()`` and ``state_dict()``, and ``.to(device)`` moves them.
    """

    def __init__(self) -> None:
        """ES: Crea ``self.hidden`` y ``self.out``.

        EN: Create ``self.hidden`` and ``self.out``.
        """
        super().__init__()
        # TODO: self.hidden = ...  y/and  self.out = ...
        raise NotImplementedError(
            "TODO: MLP.__init__: crea self.hidden y self.out / create self.hidden and self.out"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """ES: Devuelve ``out(relu(hidden(X)))``, de ``(n, 20)`` a ``(n, 10)``.

        EN: Return ``out(relu(hidden(X)))``, from ``(n, 20)`` to ``(n, 10)``.
        """
        # TODO: return ...
        raise NotImplementedError(
            "TODO: MLP.forward: devuelve out(relu(hidden(X))) / return out(relu(hidden(X)))"
        )


class MySequential(nn.Module):
    """Ejercicio ``my_sequential`` / Exercise ``my_sequential``.

    ES: Tu propia versión de ``nn.Sequential``.

    - ``MySequential(*modules)`` recibe cualquier número de módulos (también
      ninguno) y registra cada uno como hijo con el nombre ``"0"``, ``"1"``,
      ``"2"``, … según su posición. Usa ``self.add_module(str(idx), module)``.
      Así las claves de ``state_dict()`` son las mismas que las de
      ``nn.Sequential(*modules)`` (por ejemplo ``"0.weight"``), y
      ``parameters()`` y ``.to(device)`` llegan a todos los hijos.
    - ``forward(X)`` aplica los módulos en orden, pasando la salida de cada uno
      como entrada del siguiente, y devuelve la última salida. Sin módulos,
      devuelve ``X`` sin cambios.

    Hereda de ``nn.Module``, no de ``nn.Sequential``: escribir el contenedor es
    el objetivo del ejercicio. Una lista de Python normal (``self.layers =
    [...]``) no registra los módulos: ``parameters()`` no los vería.

    Idea practicada: ``add_module`` y el diccionario ``self._modules``.

    EN: Your own version of ``nn.Sequential``.

    - ``MySequential(*modules)`` takes any number of modules (none included)
      and registers each one as a child named ``"0"``, ``"1"``, ``"2"``, …
      after its position. Use ``self.add_module(str(idx), module)``. Then the
      ``state_dict()`` keys are the same as those of ``nn.Sequential(*modules)``
      (for example ``"0.weight"``), and ``parameters()`` and ``.to(device)``
      reach every child.
    - ``forward(X)`` applies the modules in order, feeding each output to the
      next module, and returns the last output. With no modules it returns
      ``X`` unchanged.

    Subclass ``nn.Module``, not ``nn.Sequential``: writing the container is the
    point of the exercise. A plain Python list (``self.layers = [...]``) does
    not register the modules: ``parameters()`` would not see them.

    Idea practised: ``add_module`` and the ``self._modules`` dictionary.
    """

    def __init__(self, *modules: nn.Module) -> None:
        """ES: Registra cada módulo como ``"0"``, ``"1"``, …

        EN: Register each module as ``"0"``, ``"1"``, …
        """
        super().__init__()
        # TODO: for idx, module in enumerate(modules): ...
        raise NotImplementedError(
            "TODO: MySequential.__init__: registra los módulos con add_module"
            " / register the modules with add_module"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """ES: Aplica los módulos en orden.

        EN: Apply the modules in order.
        """
        # TODO: recorre los módulos registrados / loop over the registered modules
        raise NotImplementedError(
            "TODO: MySequential.forward: aplica los módulos en orden / apply the modules in order"
        )


class FixedHiddenMLP(nn.Module):
    """Ejercicio ``fixed_hidden_mlp`` / Exercise ``fixed_hidden_mlp``.

    ES: Bloque con un peso constante, una capa usada dos veces y control de
    flujo de Python en ``forward``.

    - ``__init__()`` (sin argumentos):

      * ``self.linear = nn.Linear(20, 20)``: una sola capa que ``forward`` usa
        dos veces (pesos compartidos).
      * un peso constante ``rand_weight`` de forma ``(20, 20)``, sacado de
        ``torch.rand`` (uniforme en [0, 1)) y registrado como *buffer*:
        ``self.register_buffer("rand_weight", torch.rand((20, 20)))``.
        Un buffer no es un parámetro (no recibe gradiente y el optimizador no
        lo cambia), pero se guarda en ``state_dict()`` y viaja con el módulo al
        hacer ``.to(device)``. Si lo guardas como atributo normal
        (``self.rand_weight = torch.rand(...)``) se queda en la CPU cuando el
        modelo pasa a la GPU; si lo envuelves en ``nn.Parameter`` pasa a ser un
        parámetro. Las dos cosas son incorrectas.

    - ``forward(X)``, con ``X`` de forma ``(n, 20)``, sigue exactamente estos
      pasos::

          X = self.linear(X)
          X = relu(X @ self.rand_weight + 1)
          X = self.linear(X)
          while X.abs().sum() > 1:
              X /= 2
          return X.sum()

      La salida es un tensor de dimensión 0 (un escalar) con ``|salida| <= 1``.
      Si creas algún tensor dentro de ``forward``, créalo en el dispositivo de
      la entrada (``device=X.device``).

    Los únicos parámetros son ``linear.weight`` y ``linear.bias``.

    Idea practicada: ``register_buffer`` para constantes y reutilizar una capa
    para compartir sus pesos.

    EN: Block with a constant weight, a layer used twice and Python control flow
    in ``forward``.

    - ``__init__()`` (no arguments):

      * ``self.linear = nn.Linear(20, 20)``: a single layer that ``forward``
        uses twice (shared weights).
      * a constant weight ``rand_weight`` of shape ``(20, 20)``, drawn from
        ``torch.rand`` (uniform on [0, 1)) and registered as a *buffer*:
        ``self.register_buffer("rand_weight", torch.rand((20, 20)))``.
        A buffer is not a parameter (it gets no gradient and the optimizer
        never changes it), but it is saved in ``state_dict()`` and travels with
        the module on ``.to(device)``. Kept as a plain attribute
        (``self.rand_weight = torch.rand(...)``) it stays on the CPU when the
        model moves to the GPU; wrapped in ``nn.Parameter`` it becomes a
        parameter. Both are wrong.

    - ``forward(X)``, with ``X`` of shape ``(n, 20)``, follows exactly these
      steps::

          X = self.linear(X)
          X = relu(X @ self.rand_weight + 1)
          X = self.linear(X)
          while X.abs().sum() > 1:
              X /= 2
          return X.sum()

      The output is a 0-dimensional tensor (a scalar) with ``|output| <= 1``.
      If you create a tensor inside ``forward``, create it on the input's
      device (``device=X.device``).

    The only parameters are ``linear.weight`` and ``linear.bias``.

    Idea practised: ``register_buffer`` for constants, and reusing a layer to
    share its weights.
    """

    def __init__(self) -> None:
        """ES: Crea ``self.linear`` y el buffer ``rand_weight``.

        EN: Create ``self.linear`` and the ``rand_weight`` buffer.
        """
        super().__init__()
        # TODO: self.register_buffer("rand_weight", ...)  y/and  self.linear = ...
        raise NotImplementedError(
            "TODO: FixedHiddenMLP.__init__: registra rand_weight con register_buffer y crea"
            " self.linear / register rand_weight with register_buffer and create self.linear"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """ES: ``(n, 20) ->`` escalar (tensor de dimensión 0).

        EN: ``(n, 20) ->`` scalar (0-dimensional tensor).
        """
        # TODO: sigue los pasos del enunciado / follow the steps of the statement
        raise NotImplementedError(
            "TODO: FixedHiddenMLP.forward: sigue los pasos del enunciado"
            " / follow the steps of the statement"
        )
