package dev.rectify.server;

import io.micronaut.context.event.BeanCreatedEvent;
import io.micronaut.context.event.BeanCreatedEventListener;
import io.micronaut.http.netty.channel.ChannelPipelineCustomizer;
import io.micronaut.http.server.netty.NettyServerCustomizer;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import jakarta.inject.Singleton;

/** Puts {@link RequestDeadline} and {@link EdgeGuard} into every HTTP/1.1 connection's Netty pipeline. */
@Singleton
final class EdgeCustomizer implements BeanCreatedEventListener<NettyServerCustomizer.Registry> {
    private final Settings settings;

    EdgeCustomizer(Settings settings) {
        this.settings = settings;
    }

    @Override
    public NettyServerCustomizer.Registry onCreated(BeanCreatedEvent<NettyServerCustomizer.Registry> event) {
        event.getBean().register(new NettyServerCustomizer() {
            @Override
            public NettyServerCustomizer specializeForChannel(Channel channel, ChannelRole role) {
                return role == ChannelRole.CONNECTION ? new PerConnection(channel) : this;
            }
        });
        return event.getBean();
    }

    private final class PerConnection implements NettyServerCustomizer {
        private final Channel channel;

        PerConnection(Channel channel) {
            this.channel = channel;
        }

        @Override
        public NettyServerCustomizer specializeForChannel(Channel channel, ChannelRole role) {
            return this;
        }

        @Override
        public void onStreamPipelineBuilt() {
            ChannelPipeline p = channel.pipeline();
            if (p.get(ChannelPipelineCustomizer.HANDLER_HTTP_SERVER_CODEC) == null || p.get(EdgeGuard.class) != null) {
                return;
            }
            RequestDeadline deadline = new RequestDeadline(settings.requestTimeout());
            p.addFirst("rectify-request-deadline", deadline);
            p.addAfter(
                    ChannelPipelineCustomizer.HANDLER_HTTP_SERVER_CODEC,
                    "rectify-edge-guard",
                    new EdgeGuard(settings.maxJsonBody(), settings.maxUriLength(), deadline));
        }
    }
}
