"""AsymNet (Cheng et al., CVPR 2017): the Image Feature Network, the Video Feature Network and
the reconfigurable deep tree that scores a clothing trajectory against shop images
(docs/asymnet.md)."""
