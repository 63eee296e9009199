"""Armful: production Amazon EKS on AWS Graviton, as Pulumi components.

The pure layers (``armful.core`` up to ``armful.planning``) turn stack config into a plan without
Pulumi's engine; the components turn that plan into resources, together or on their own:
``ArmCluster`` (``armful.arm_cluster``), ``NodePools`` (``armful.node_pools``), ``ClusterAddons``
(``armful.cluster_addons``), ``EksManagedAddons`` (``armful.eks_managed_addons``) and ``Network``
(``armful.network``). ``plugin/`` hosts the same
components as a Pulumi package for programs in other languages.
"""
