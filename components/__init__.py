"""Armful: production Amazon EKS on AWS Graviton, as Pulumi components.

The pure core (``components.core``, ``components.placement``) turns stack config into a plan without
Pulumi's engine; the components turn that plan into resources, together or on their own:
``ArmCluster`` (``components.arm_cluster``), ``NodePools`` (``components.node_pools``), ``ClusterAddons``
(``components.cluster_addons``) and ``Network`` (``components.network``). ``plugin/`` hosts the same
components as a Pulumi package for programs in other languages.
"""
