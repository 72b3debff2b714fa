"""Capas propias.

ES: Una capa propia es también una subclase de ``nn.Module``. Aquí escribes
una capa sin parámetros (``CenteredLayer``) y una capa con parámetros propios
declarados con ``nn.Parameter`` (``MyLinear``). Rellena cada ``# TODO`` y borra
la línea ``raise NotImplementedError(...)`` que hay debajo. No cambies los
nombres de las clases ni de los atributos: el corrector los usa.

EN: Custom layers. A custom layer is an ``nn.Module`` subclass too. Here you
write a layer without parameters (``CenteredLayer``) and a layer with its own
parameters declared with ``nn.Parameter`` (``MyLinear``). Fill in every
``# TODO`` and delete the ``raise NotImplementedError(...)`` line below it. Do
not rename the classes or the attributes: the grader uses them.

Contrato / contract: ``EXERCISES.es.md`` (español), ``EXERCISES.md`` (English),
en la raíz del proyecto / at the root of the project.
"""

import torch
from torch import nn
from torch.nn import functional as F  # noqa: F401  (para/for F.relu)


class CenteredLayer(nn.Module):
    """Ejercicio ``centered_layer`` / Exercise ``centered_layer``.

    ES: Capa sin parámetros que centra su entrada.

    - ``__init__()`` (sin argumentos): no hay nada que crear; basta con
      ``super().__init__()``. La capa no tiene parámetros.
    - ``forward(X)`` devuelve ``X - X.mean()``, donde la media se toma sobre
      *todos* los elementos de ``X`` (no por filas ni por columnas). La salida
      tiene la misma forma que ``X`` y media cero. La media debe seguir siendo
      un tensor para que el gradiente pase por ella: no la conviertas en un
      número de Python con ``.item()`` o ``float()``.

    Ejemplo: ``CenteredLayer()(torch.tensor([1.0, 2, 3, 4, 5]))`` da
    ``tensor([-2., -1., 0., 1., 2.])``. Debe funcionar dentro de
    ``nn.Sequential(nn.Linear(8, 128), CenteredLayer())``.

    Idea practicada: una capa propia sin parámetros solo necesita ``forward``.

    EN: Parameter-free layer that centres its input.

    - ``__init__()`` (no arguments): nothing to create; ``super().__init__()``
      is enough. The layer has no parameters.
    - ``forward(X)`` returns ``X - X.mean()``, where the mean is taken over
      *all* elements of ``X`` (not per row or per column). The output has the
      same shape as ``X`` and zero mean. The mean must stay a tensor so that
      the gradient flows through it: do not turn it into a Python number with
      ``.item()`` or ``float()``.

    Example: ``CenteredLayer()(torch.tensor([1.0, 2, 3, 4, 5]))`` gives
    ``tensor([-2., -1., 0., 1., 2.])``. It must work inside
    ``nn.Sequential(nn.Linear(8, 128), CenteredLayer())``.

    Idea practised: a custom layer without parameters only needs ``forward``.
    """

    def __init__(self) -> None:
        """ES: Sin parámetros: solo ``super().__init__()``.

        EN: No parameters: only ``super().__init__()``.
        """
        super().__init__()
        # TODO: no hace falta nada más: borra la línea siguiente
        #       nothing else is needed: delete the next line
        raise NotImplementedError(
            "TODO: CenteredLayer.__init__: basta con super().__init__(); borra este raise"
            " / super().__init__() is enough; delete this raise"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """ES: Devuelve ``X - X.mean()``, con la misma forma que ``X``.

        EN: Return ``X - X.mean()``, with the same shape as ``X``.
        """
        # TODO: return ...
        raise NotImplementedError(
            "TODO: CenteredLayer.forward: devuelve X - X.mean() / return X - X.mean()"
        )


class MyLinear(nn.Module):
    """Ejercicio ``my_linear`` / Exercise ``my_linear``.

    ES: Capa densa propia con activación ReLU.

    - ``MyLinear(in_units, units)`` crea dos parámetros con ``nn.Parameter``,
      ambos con valores iniciales de una normal estándar (``torch.randn``):

      * ``self.weight`` de forma ``(in_units, units)`` (fíjate: al revés que
        ``nn.Linear``, que guarda ``(units, in_units)``);
      * ``self.bias`` de forma ``(units,)``.

    - ``forward(X)``, con ``X`` de forma ``(n, in_units)``, devuelve
      ``relu(X @ self.weight + self.bias)``, de forma ``(n, units)``. Usa
      ``self.weight`` y ``self.bias`` directamente: si lees ``.data`` el
      gradiente no llega a los parámetros.

    Ejemplo: ``MyLinear(5, 3)`` tiene ``weight`` de forma ``(5, 3)`` y
    ``bias`` de forma ``(3,)``; ``nn.Sequential(MyLinear(64, 8),
    MyLinear(8, 1))`` debe funcionar.

    Idea practicada: ``nn.Parameter`` registra un tensor como parámetro del
    módulo (aparece en ``parameters()``, recibe gradiente y se mueve con
    ``.to(device)``).

    EN: Home-made dense layer with a ReLU activation.

    - ``MyLinear(in_units, units)`` creates two parameters with
      ``nn.Parameter``, both initialised from a standard normal distribution
      (``torch.randn``):

      * ``self.weight`` of shape ``(in_units, units)`` (note: the other way
        round from ``nn.Linear``, which stores ``(units, in_units)``);
      * ``self.bias`` of shape ``(units,)``.

    - ``forward(X)``, with ``X`` of shape ``(n, in_units)``, returns
      ``relu(X @ self.weight + self.bias)``, of shape ``(n, units)``. Use
      ``self.weight`` and ``self.bias`` directly: reading ``.data`` stops the
      gradient from reaching the parameters.

    Example: ``MyLinear(5, 3)`` has ``weight`` of shape ``(5, 3)`` and ``bias``
    of shape ``(3,)``; ``nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))``
    must work.

    Idea practised: ``nn.Parameter`` registers a tensor as a parameter of the
    module (it shows up in ``parameters()``, gets gradients and moves with
    ``.to(device)``).
    """

    def __init__(self, in_units: int, units: int) -> None:
        """ES: Crea ``self.weight`` ``(in_units, units)`` y ``self.bias`` ``(units,)``.

        EN: Create ``self.weight`` ``(in_units, units)`` and ``self.bias`` ``(units,)``.
        """
        super().__init__()
        # TODO: self.weight = nn.Parameter(...)  y/and  self.bias = nn.Parameter(...)
        raise NotImplementedError(
            "TODO: MyLinear.__init__: crea weight y bias con nn.Parameter"
            " / create weight and bias with nn.Parameter"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """ES: Devuelve ``relu(X @ self.weight + self.bias)``: ``(n, in_units) -> (n, units)``.

        EN: Return ``relu(X @ self.weight + self.bias)``: ``(n, in_units) -> (n, units)``.
        """
        # TODO: return ...
        raise NotImplementedError(
            "TODO: MyLinear.forward: devuelve relu(X @ weight + bias)"
            " / return relu(X @ weight + bias)"
        )
