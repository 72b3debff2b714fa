from torch import nn


def block1():
    layers = [nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU()]
    return nn.Sequential(*layers)


def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add_module("block " + str(i), block1())
    return net


def rgnet():
    net = nn.Sequential()
    net.add_module("0", block2())
    net.add_module("1", nn.Linear(4, 1))
    return net


def count_parameters(net):
    seen = {}
    for _name, p in net.named_parameters(remove_duplicate=False):
        seen[id(p)] = p.numel()
    return sum(seen.values())


def param_shapes(net):
    shapes = {}
    for name, p in net.named_parameters():
        shapes[name] = tuple(int(d) for d in p.size())
    return shapes


def tied_net():
    shared = nn.Linear(8, 8)
    layers = [nn.Linear(4, 8), nn.ReLU()]
    layers += [shared, nn.ReLU()]
    layers += [shared, nn.ReLU()]
    layers.append(nn.Linear(8, 1))
    return nn.Sequential(*layers)
