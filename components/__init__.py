"""Armful: production Amazon EKS on AWS Graviton, as Pulumi components.

The pure core (``armful.core``, ``armful.placement``) turns stack config into a plan without
Pulumi's engine; the components turn that plan into resources, together or on their own:
``ArmCluster`` (``armful.arm_cluster``), ``NodePools`` (``armful.node_pools``), ``ClusterAddons``
(``armful.cluster_addons``) and ``Network`` (``armful.network``). ``plugin/`` hosts the same
components as a Pulumi package for programs in other languages.
"""
